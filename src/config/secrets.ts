/**
 * Secret files (`client_secret_file`, `key_file`): a regular, non-empty file that only its owner
 * can read or write (mode 0600 or stricter). Messages name the file and what is wrong with it,
 * never its contents.
 */
import {
  closeSync,
  fstatSync,
  openSync,
  readSync,
  statSync,
  constants as fsConstants,
} from 'node:fs';
import { ZtError, type ErrorCode } from '../shared/errors.js';
import { codeText } from './problem.js';

/** The largest secret file read: keys and client secrets are a few kilobytes at most. */
export const MAX_SECRET_BYTES = 1024 * 1024;

export interface SecretFileIssue {
  readonly code: Extract<ErrorCode, 'ZT_CONFIG_SECRET_FILE' | 'ZT_CONFIG_SECRET_PERMISSIONS'>;
  readonly message: string;
  readonly help: string;
}

function modeText(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

const FS_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'does not exist',
  ENOTDIR: 'does not exist',
  EACCES: 'cannot be read (permission denied)',
  EPERM: 'cannot be read (permission denied)',
  EISDIR: 'is a directory',
  ELOOP: 'is a symbolic link loop',
};

function fsReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'unknown error';
  return FS_REASONS[code] ?? `cannot be read (${code})`;
}

/**
 * Checks that a file is usable for a secret. `secret: false` (a certificate) skips the mode check.
 * Returns the first thing wrong, or undefined.
 */
export function checkSecretFile(
  path: string,
  options: { secret?: boolean } = {},
): SecretFileIssue | undefined {
  const secret = options.secret ?? true;
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    return {
      code: 'ZT_CONFIG_SECRET_FILE',
      message: `${codeText(path)} ${fsReason(err)}`,
      help: 'create the file, or fix the path (a relative path is relative to the config file’s directory)',
    };
  }
  if (!st.isFile()) {
    return {
      code: 'ZT_CONFIG_SECRET_FILE',
      message: `${codeText(path)} is not a regular file`,
      help: 'point the key at a file',
    };
  }
  if (st.size === 0) {
    return {
      code: 'ZT_CONFIG_SECRET_FILE',
      message: `${codeText(path)} is empty`,
      help: 'write the secret into the file',
    };
  }
  if (st.size > MAX_SECRET_BYTES) {
    return {
      code: 'ZT_CONFIG_SECRET_FILE',
      message: `${codeText(path)} is larger than ${MAX_SECRET_BYTES / 1024} KiB`,
      help: 'check that the key points at the right file',
    };
  }
  if (secret && process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    return {
      code: 'ZT_CONFIG_SECRET_PERMISSIONS',
      message: `${codeText(path)} has mode ${modeText(st.mode)}: group or others can access it`,
      help: `restrict it to its owner: ${codeText(`chmod 600 ${path}`)}`,
    };
  }
  return undefined;
}

/**
 * Reads a secret file: the checks of `checkSecretFile`, then the contents without one trailing
 * newline (`\n` or `\r\n`). Throws a ZtError (ZT_CONFIG_SECRET_FILE or
 * ZT_CONFIG_SECRET_PERMISSIONS) whose message never contains the file's contents.
 */
export function readSecretFile(path: string): string {
  const issue = checkSecretFile(path);
  if (issue) throw new ZtError(issue.code, issue.message, { help: issue.help });
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY);
  } catch (err) {
    throw new ZtError('ZT_CONFIG_SECRET_FILE', `${codeText(path)} ${fsReason(err)}`, {
      help: 'check the path and the file’s permissions',
    });
  }
  try {
    // Check again through the open descriptor: the file may have changed since the stat above.
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_SECRET_BYTES) {
      throw new ZtError('ZT_CONFIG_SECRET_FILE', `${codeText(path)} changed while it was read`, {
        help: 'try again',
      });
    }
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new ZtError(
        'ZT_CONFIG_SECRET_PERMISSIONS',
        `${codeText(path)} has mode ${modeText(st.mode)}: group or others can access it`,
        { help: `restrict it to its owner: ${codeText(`chmod 600 ${path}`)}` },
      );
    }
    const buf = Buffer.alloc(MAX_SECRET_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_SECRET_BYTES) {
        throw new ZtError(
          'ZT_CONFIG_SECRET_FILE',
          `${codeText(path)} is larger than ${MAX_SECRET_BYTES / 1024} KiB`,
          {
            help: 'check that the key points at the right file',
          },
        );
      }
    }
    let text = buf.subarray(0, length).toString('utf8');
    buf.fill(0);
    if (text.endsWith('\r\n')) text = text.slice(0, -2);
    else if (text.endsWith('\n')) text = text.slice(0, -1);
    if (text.length === 0) {
      throw new ZtError('ZT_CONFIG_SECRET_FILE', `${codeText(path)} is empty`, {
        help: 'write the secret into the file',
      });
    }
    return text;
  } catch (err) {
    if (err instanceof ZtError) throw err;
    throw new ZtError('ZT_CONFIG_SECRET_FILE', `${codeText(path)} ${fsReason(err)}`, {
      help: 'check the path and the file’s permissions',
    });
  } finally {
    closeSync(fd);
  }
}
