/** OS name and version from os-release(5), the kernel release from the running kernel. */
import { collected, reason, value, type Collector, type Outcome } from '../types.js';

/** Parses os-release: `KEY=value` lines, values optionally quoted, shell escapes in double quotes. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m || m[1] === undefined || m[2] === undefined) continue;
    let v = m[2];
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"'))
      v = v.slice(1, -1).replace(/\\([\\$"`])/g, '$1');
    else if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) v = v.slice(1, -1);
    out[m[1]] = v;
  }
  return out;
}

export function osFromRelease(fields: Record<string, string>): {
  os_name: Outcome<string>;
  os_version: Outcome<string>;
} {
  const name = fields.NAME ?? fields.ID;
  const version = fields.VERSION_ID ?? fields.BUILD_ID;
  return {
    os_name: name ? value(name) : reason('os-release has no `NAME`'),
    os_version: version
      ? value(version)
      : reason('os-release has no `VERSION_ID` (a rolling release?)'),
  };
}

export const linuxOsCollector: Collector = {
  name: 'os-release',
  provides: ['os', 'os_name', 'os_version', 'kernel', 'agent_version'],
  async collect(ctx) {
    const file =
      (await ctx.fs.readFile('/etc/os-release', 64 * 1024)) ??
      (await ctx.fs.readFile('/usr/lib/os-release', 64 * 1024));
    const os = file
      ? osFromRelease(parseOsRelease(file.toString('utf8')))
      : {
          os_name: reason('neither /etc/os-release nor /usr/lib/os-release can be read'),
          os_version: reason('no os-release file'),
        };
    const kernel = ctx.kernelRelease();
    return collected({
      os: value('linux'),
      ...os,
      kernel: kernel ? value(kernel) : reason('the kernel release is unknown'),
      agent_version: value(ctx.agentVersion),
    });
  },
};
