/**
 * Streams committed audit records to a sink, at least once, in order. The stream reads from the
 * store (not from memory), so a restart resumes where it stopped: the last delivered sequence
 * number is kept in the settings under `audit.stream.<sink name>.seq`. A failed delivery is
 * retried with exponential backoff and jitter; the audit writer never waits on a sink.
 */
import { randomInt } from 'node:crypto';
import type { Store } from '../../store/store.js';
import { queryAudit } from '../query.js';
import type { Warn } from '../writer.js';
import type { AuditSink } from './sink.js';

export interface AuditStreamOptions {
  /** records per delivery; default 500 */
  readonly batchSize?: number;
  /** how often to look for new records when idle; default 250 ms */
  readonly pollMs?: number;
  /** first retry delay; default 200 ms, doubling up to `maxBackoffMs` (default 30000 ms) */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** where a sink without a stored position starts: `end` (default) or `beginning` */
  readonly startAt?: 'beginning' | 'end';
  readonly now?: () => number;
  readonly onWarning?: Warn;
}

export class AuditStream {
  private running: Promise<void> | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private delivered = 0;
  private position = 0;

  constructor(
    private readonly store: Pick<Store, 'audit' | 'settings'>,
    private readonly sink: AuditSink,
    private readonly options: AuditStreamOptions = {},
  ) {}

  get cursorKey(): string {
    return `audit.stream.${this.sink.name}.seq`;
  }

  /** the last sequence number delivered */
  get deliveredSeq(): number {
    return this.position;
  }

  get deliveredCount(): number {
    return this.delivered;
  }

  start(): void {
    if (this.running) return;
    this.stopped = false;
    this.running = this.loop();
  }

  /** Wakes the stream up at once (call it from `AuditWriter.onCommit`). */
  notify(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
    this.running = null;
    await this.sink.close();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        if (this.wake === done) this.wake = null;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async loop(): Promise<void> {
    const warn = this.options.onWarning ?? (() => undefined);
    const now = this.options.now ?? Date.now;
    const batchSize = this.options.batchSize ?? 500;
    const pollMs = this.options.pollMs ?? 250;
    const initial = this.options.initialBackoffMs ?? 200;
    const max = this.options.maxBackoffMs ?? 30_000;
    let attempt = 0;
    let known = false;
    while (!this.stopped) {
      try {
        if (!known) {
          const stored = await this.store.settings.get(this.cursorKey);
          this.position =
            stored !== undefined
              ? Number(stored)
              : this.options.startAt === 'beginning'
                ? 0
                : (await this.store.audit.head()).seq;
          known = true;
        }
        const page = await queryAudit(this.store.audit, {
          order: 'asc',
          limit: batchSize,
          cursor: `a${this.position}`,
        });
        if (page.records.length === 0) {
          await this.sleep(pollMs);
          continue;
        }
        await this.sink.deliver(page.records);
        const last = page.records[page.records.length - 1];
        if (last) this.position = last.seq;
        this.delivered += page.records.length;
        attempt = 0;
        await this.store.settings.set(this.cursorKey, String(this.position), now());
      } catch (err) {
        attempt += 1;
        const ceiling = Math.min(max, initial * 2 ** Math.min(attempt - 1, 20));
        warn(
          'ZT_AUDIT_SINK_FAILED',
          `audit stream \`${this.sink.name}\`: ${err instanceof Error ? err.message : String(err)} (retry ${attempt})`,
        );
        await this.sleep(
          Math.max(
            1,
            randomInt(Math.floor(ceiling / 2), Math.max(Math.floor(ceiling / 2) + 1, ceiling)),
          ),
        );
      }
    }
  }
}
