/**
 * Is the root filesystem on dm-crypt (LUKS or plain)? From `lsblk -J -o NAME,TYPE,MOUNTPOINT,FSTYPE`
 * (or `MOUNTPOINTS` in util-linux 2.37+): the block device mounted on `/` is encrypted when it or
 * one of its parents (LVM on LUKS, LUKS on RAID, ...) has type `crypt`. Without lsblk the same walk
 * is done in sysfs: the root device from /proc/mounts, then `/sys/block/dm-N/dm/uuid` starting with
 * `CRYPT-` on it or on its `slaves/`.
 *
 * A root on `overlay`, `tmpfs` or another virtual filesystem (a container) is unknown, not false:
 * the host's disk is what matters and the agent cannot see it.
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

interface LsblkNode {
  name?: unknown;
  type?: unknown;
  mountpoint?: unknown;
  mountpoints?: unknown;
  fstype?: unknown;
  children?: unknown;
}

function mountsRoot(n: LsblkNode): boolean {
  if (n.mountpoint === '/') return true;
  return Array.isArray(n.mountpoints) && n.mountpoints.includes('/');
}

/** true/false when lsblk shows the root device, undefined when it does not. */
export function rootEncryptedFromLsblk(json: string): Outcome<boolean> {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    return reason('lsblk printed something that is not JSON');
  }
  const roots = (doc as { blockdevices?: unknown } | null)?.blockdevices;
  if (!Array.isArray(roots)) return reason('lsblk printed no `blockdevices`');
  // iterative walk, carrying whether an ancestor is a crypt device
  const stack: { node: LsblkNode; crypt: boolean; depth: number }[] = roots.map((n) => ({
    node: n as LsblkNode,
    crypt: false,
    depth: 0,
  }));
  const found: boolean[] = [];
  while (stack.length > 0) {
    const { node, crypt, depth } = stack.pop() as {
      node: LsblkNode;
      crypt: boolean;
      depth: number;
    };
    if (node === null || typeof node !== 'object' || depth > 16) continue;
    const here = crypt || node.type === 'crypt';
    if (mountsRoot(node)) found.push(here);
    if (Array.isArray(node.children))
      for (const c of node.children)
        stack.push({ node: c as LsblkNode, crypt: here, depth: depth + 1 });
  }
  if (found.length === 0) return reason('lsblk shows no block device mounted on `/`');
  return value(found.every(Boolean));
}

/** The source and type of the filesystem mounted on `/` (the last such line wins, as mounts stack). */
export function rootMount(procMounts: string): { source: string; fstype: string } | undefined {
  let out: { source: string; fstype: string } | undefined;
  for (const line of procMounts.split('\n')) {
    const [source, target, fstype] = line.split(' ');
    if (target === '/' && source && fstype) out = { source: source.replace(/\\040/g, ' '), fstype };
  }
  return out;
}

const VIRTUAL = new Set([
  'overlay',
  'tmpfs',
  'rootfs',
  'squashfs',
  'aufs',
  'fuse.lxcfs',
  '9p',
  'virtiofs',
  'nfs',
  'nfs4',
  'cifs',
]);

async function dmIsCrypt(ctx: CollectorContext, dm: string, depth = 0): Promise<boolean> {
  if (depth > 8) return false;
  const uuid =
    (await ctx.fs.readFile(`/sys/block/${dm}/dm/uuid`, 4096))?.toString('utf8').trim() ?? '';
  if (uuid.startsWith('CRYPT-')) return true;
  for (const slave of (await ctx.fs.readDir(`/sys/block/${dm}/slaves`)) ?? []) {
    if (slave.startsWith('dm-') && (await dmIsCrypt(ctx, slave, depth + 1))) return true;
  }
  return false;
}

/** The sysfs walk, for systems without lsblk. */
export async function rootEncryptedFromSysfs(ctx: CollectorContext): Promise<Outcome<boolean>> {
  const mounts = await ctx.fs.readFile('/proc/mounts', 1024 * 1024);
  if (!mounts) return reason('/proc/mounts cannot be read');
  const root = rootMount(mounts.toString('utf8'));
  if (!root) return reason('/proc/mounts lists no `/`');
  if (VIRTUAL.has(root.fstype))
    return reason(
      `the root filesystem is \`${root.fstype}\` (a container?): the disk is not visible`,
    );
  let dm: string | undefined;
  const direct = /^\/dev\/(dm-\d+)$/.exec(root.source);
  if (direct) dm = direct[1];
  const mapper = /^\/dev\/mapper\/(.+)$/.exec(root.source);
  if (mapper) {
    for (const entry of (await ctx.fs.readDir('/sys/block')) ?? []) {
      if (!entry.startsWith('dm-')) continue;
      const name = (await ctx.fs.readFile(`/sys/block/${entry}/dm/name`, 4096))
        ?.toString('utf8')
        .trim();
      if (name === mapper[1]) dm = entry;
    }
    if (!dm) return reason(`the device-mapper device of \`${root.source}\` is not in /sys/block`);
  }
  if (!dm) return value(false); // a plain partition or disk
  return value(await dmIsCrypt(ctx, dm));
}

export async function linuxDiskEncryption(ctx: CollectorContext): Promise<Outcome<boolean>> {
  const r = await ctx.run('lsblk', ['-J', '-o', 'NAME,TYPE,MOUNTPOINT,FSTYPE'], {
    timeoutMs: ctx.commandTimeoutMs,
  });
  const failure = commandFailure('lsblk', r);
  if (!failure) {
    const out = rootEncryptedFromLsblk(r.stdout);
    if ('value' in out) return out;
  }
  const sys = await rootEncryptedFromSysfs(ctx);
  if ('value' in sys || failure === undefined) return sys;
  return reason(`${failure}; ${sys.reason}`);
}

export const linuxDiskEncryptionCollector: Collector = {
  name: 'disk-encryption',
  provides: ['disk_encrypted'],
  async collect(ctx) {
    return collected({ disk_encrypted: await linuxDiskEncryption(ctx) });
  },
};
