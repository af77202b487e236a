/**
 * A line writer that batches: lines are joined and handed to `write` when 64 KiB have gathered or
 * 100 ms after the first line of a batch, and on `flush()`. Writing every access log line on its
 * own costs a system call per request; batching makes it one per batch. At most one batch window
 * of lines is lost if the process is killed (the audit log, not the access log, is the durable
 * record of decisions).
 */
export interface LineBuffer {
  /** adds one line (without its newline) */
  line(text: string): void;
  /** writes what is gathered now */
  flush(): void;
}

export function lineBuffer(
  write: (chunk: string) => void,
  options: { maxBytes?: number; maxDelayMs?: number } = {},
): LineBuffer {
  const maxBytes = options.maxBytes ?? 64 * 1024;
  const maxDelayMs = options.maxDelayMs ?? 100;
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (pending === '') return;
    const chunk = pending;
    pending = '';
    try {
      write(chunk);
    } catch {
      // a failing log destination must not fail requests
    }
  };
  return {
    line(text) {
      pending += `${text}\n`;
      if (pending.length >= maxBytes) flush();
      else if (timer === undefined) {
        timer = setTimeout(flush, maxDelayMs);
        timer.unref();
      }
    },
    flush,
  };
}
