/**
 * Does the desktop lock the screen when idle? Only a desktop session can say, so:
 *
 * 1. `loginctl list-sessions --no-legend`, then `loginctl show-session ID -p Type -p Active
 *    -p Remote -p Name -p User -p Desktop` for each: the local graphical (`x11`, `wayland`)
 *    session, the active one first. None: the attribute is absent ("no desktop session").
 * 2. Its desktop's setting, read as the session user (through `runuser` with the user's D-Bus
 *    session when the agent runs as root):
 *    - GNOME and its derivatives: `gsettings get org.gnome.desktop.screensaver lock-enabled` and
 *      `org.gnome.desktop.session idle-delay` (0 means the screen never blanks, so never locks);
 *    - Cinnamon: the same keys under `org.cinnamon.desktop.*`;
 *    - KDE Plasma: `kreadconfig5 --file kscreenlockerrc --group Daemon --key Autolock` (empty: the
 *      default, on).
 *    Another desktop: absent, with its name.
 */
import {
  commandFailure,
  reason,
  value,
  collected,
  type Collector,
  type CollectorContext,
  type Outcome,
} from '../types.js';

export interface LoginSession {
  readonly id: string;
  readonly type: string;
  readonly active: boolean;
  readonly remote: boolean;
  readonly name: string;
  readonly uid: number | undefined;
  readonly desktop: string;
}

/** Session ids from `loginctl list-sessions --no-legend` (first column). */
export function parseSessionList(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const id = line.trim().split(/\s+/)[0];
    if (id && /^[A-Za-z0-9_-]{1,32}$/.test(id)) out.push(id);
  }
  return out;
}

/** `Key=value` lines of `loginctl show-session`. */
export function parseShowSession(id: string, text: string): LoginSession {
  const kv: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf('=');
    if (i > 0) kv[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  const uid = Number(kv.User);
  return {
    id,
    type: kv.Type ?? '',
    active: kv.Active === 'yes',
    remote: kv.Remote === 'yes',
    name: kv.Name ?? '',
    uid: Number.isSafeInteger(uid) ? uid : undefined,
    desktop: (kv.Desktop ?? '').toLowerCase(),
  };
}

/** The local graphical session to ask, the active one first. */
export function pickDesktopSession(sessions: readonly LoginSession[]): LoginSession | undefined {
  const graphical = sessions.filter(
    (s) => (s.type === 'x11' || s.type === 'wayland' || s.type === 'mir') && !s.remote,
  );
  return graphical.find((s) => s.active) ?? graphical[0];
}

/** `true` / `false` as gsettings prints booleans. */
export function parseGsettingsBoolean(text: string): boolean | undefined {
  const t = text.trim();
  return t === 'true' ? true : t === 'false' ? false : undefined;
}

/** `uint32 300` (or `300`) as gsettings prints unsigned integers. */
export function parseGsettingsUint(text: string): number | undefined {
  const m = /^(?:uint32\s+)?(\d+)$/.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}

/** GNOME/Cinnamon: locks when lock is enabled and the screen blanks at all. */
export function gnomeScreenLock(lockEnabled: string, idleDelay: string): Outcome<boolean> {
  const lock = parseGsettingsBoolean(lockEnabled);
  const delay = parseGsettingsUint(idleDelay);
  if (lock === undefined) return reason('gsettings printed no boolean for `lock-enabled`');
  if (delay === undefined) return reason('gsettings printed no number for `idle-delay`');
  return value(lock && delay > 0);
}

/** KDE `Autolock`: empty means the default (true). */
export function kdeScreenLock(autolock: string): Outcome<boolean> {
  const t = autolock.trim().toLowerCase();
  if (t === '' || t === 'true') return value(true);
  if (t === 'false') return value(false);
  return reason(`kreadconfig printed \`${t.slice(0, 20)}\` for Autolock`);
}

function desktopFamily(desktop: string): 'gnome' | 'cinnamon' | 'kde' | undefined {
  if (/cinnamon/.test(desktop)) return 'cinnamon';
  if (/kde|plasma/.test(desktop)) return 'kde';
  if (/gnome|ubuntu|unity|pop|budgie|zorin|pantheon/.test(desktop)) return 'gnome';
  return undefined;
}

export async function linuxScreenLock(ctx: CollectorContext): Promise<Outcome<boolean>> {
  const t = { timeoutMs: ctx.commandTimeoutMs };
  const list = await ctx.run('loginctl', ['list-sessions', '--no-legend'], t);
  const listFailure = commandFailure('loginctl list-sessions', list);
  if (listFailure) return reason(`no desktop session could be found: ${listFailure}`);
  const sessions: LoginSession[] = [];
  for (const id of parseSessionList(list.stdout).slice(0, 32)) {
    const show = await ctx.run(
      'loginctl',
      [
        'show-session',
        id,
        '-p',
        'Type',
        '-p',
        'Active',
        '-p',
        'Remote',
        '-p',
        'Name',
        '-p',
        'User',
        '-p',
        'Desktop',
      ],
      t,
    );
    if (!commandFailure('loginctl show-session', show))
      sessions.push(parseShowSession(id, show.stdout));
  }
  const session = pickDesktopSession(sessions);
  if (!session) return reason('no local graphical session: there is no desktop to lock');
  const family = desktopFamily(session.desktop);
  if (!family)
    return reason(
      `the desktop \`${session.desktop || 'unknown'}\` does not report its screen lock to the agent`,
    );
  // run as the session user
  let asUser: (cmd: string, args: string[]) => Promise<{ ok: boolean; out: string; why?: string }>;
  if (ctx.uid !== undefined && session.uid !== undefined && ctx.uid === session.uid) {
    asUser = async (cmd, args) => {
      const r = await ctx.run(cmd, args, t);
      const f = commandFailure(cmd, r);
      return f ? { ok: false, out: '', why: f } : { ok: true, out: r.stdout };
    };
  } else if (
    ctx.uid === 0 &&
    session.uid !== undefined &&
    /^[a-z_][a-z0-9_.-]{0,31}\$?$/i.test(session.name)
  ) {
    const bus = `unix:path=/run/user/${session.uid}/bus`;
    asUser = async (cmd, args) => {
      const r = await ctx.run(
        'runuser',
        ['-u', session.name, '--', 'env', `DBUS_SESSION_BUS_ADDRESS=${bus}`, cmd, ...args],
        t,
      );
      const f = commandFailure(cmd, r);
      return f ? { ok: false, out: '', why: f } : { ok: true, out: r.stdout };
    };
  } else {
    return reason('the desktop session belongs to another user and the agent is not root');
  }
  if (family === 'kde') {
    for (const tool of ['kreadconfig6', 'kreadconfig5']) {
      const r = await asUser(tool, [
        '--file',
        'kscreenlockerrc',
        '--group',
        'Daemon',
        '--key',
        'Autolock',
      ]);
      if (r.ok) return kdeScreenLock(r.out);
    }
    return reason('kreadconfig5/6 could not read the KDE screen locker settings');
  }
  const prefix = family === 'cinnamon' ? 'org.cinnamon.desktop' : 'org.gnome.desktop';
  const lock = await asUser('gsettings', ['get', `${prefix}.screensaver`, 'lock-enabled']);
  if (!lock.ok) return reason(lock.why ?? 'gsettings failed');
  const delay = await asUser('gsettings', ['get', `${prefix}.session`, 'idle-delay']);
  if (!delay.ok) return reason(delay.why ?? 'gsettings failed');
  return gnomeScreenLock(lock.out, delay.out);
}

export const linuxScreenLockCollector: Collector = {
  name: 'screen-lock',
  provides: ['screen_lock'],
  async collect(ctx) {
    return collected({ screen_lock: await linuxScreenLock(ctx) });
  },
};
