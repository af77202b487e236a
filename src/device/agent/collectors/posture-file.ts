/**
 * `ztgate agent run --posture-file FILE`: posture read from a JSON file instead of this machine.
 *
 * For tests, demonstrations and pilots that need a device whose posture someone controls (turn
 * `firewall` off and watch access end), and for sites whose own tooling writes the file. The file
 * replaces every collector: it is read again at each check, so editing it changes the next report.
 *
 * This gives the device nothing it could not already do: the agent runs on the device, so the
 * device's owner can send any agent attribute anyway. What only a third party may vouch for (the
 * `signal` attributes of the schema: MDM compliance, EDR risk) stays refused by the server whatever
 * the file says.
 */
import { readFile } from 'node:fs/promises';
import type { PostureValue } from '../../../pdp/input.js';
import { POSTURE_ATTRIBUTES, type AttributeSpec } from '../../posture/schema.js';
import type { Collected, Collector, CollectorContext } from './types.js';

const MAX_FILE_BYTES = 16 * 1024;

/** Every agent attribute of the schema: what the file may set; the rest is reported unavailable. */
const AGENT_ATTRIBUTES: readonly string[] = Object.entries(
  POSTURE_ATTRIBUTES as Record<string, AttributeSpec>,
)
  .filter(([, spec]) => spec.source === 'agent')
  .map(([name]) => name);

/** Reads and checks the file's shape: a JSON object of attribute names to scalars. */
export async function readPostureFile(path: string): Promise<Record<string, PostureValue>> {
  const text = await readFile(path, 'utf8');
  if (Buffer.byteLength(text) > MAX_FILE_BYTES)
    throw new Error(`the posture file is larger than ${MAX_FILE_BYTES} bytes`);
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('the posture file must hold a JSON object of attribute names and values');
  const out: Record<string, PostureValue> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'boolean' && typeof v !== 'number' && typeof v !== 'string')
      throw new Error(`\`${k}\` in the posture file is not a boolean, number or string`);
    out[k] = v;
  }
  return out;
}

/**
 * A collector that reports the file's attributes. Values are checked against the posture schema by
 * `runCollectors`, like any collector's; names the schema does not know are left out.
 */
export function postureFileCollector(path: string): Collector {
  return {
    name: 'posture-file',
    provides: AGENT_ATTRIBUTES,
    async collect(ctx: CollectorContext): Promise<Collected> {
      // the version is this program's own, not something to pretend
      const values: Record<string, PostureValue> = {
        ...(await readPostureFile(path)),
        agent_version: ctx.agentVersion,
      };
      const attributes: Record<string, PostureValue> = {};
      const unavailable: Record<string, string> = {};
      for (const name of AGENT_ATTRIBUTES) {
        const v = values[name];
        if (v !== undefined) attributes[name] = v;
        else unavailable[name] = 'not in the posture file';
      }
      return { attributes, unavailable };
    },
  };
}
