/**
 * What an API token may do: one scope per resource and access, `<resource>:read` or
 * `<resource>:write`. `write` includes `read` of the same resource. Signed-in admins (sessions the
 * admin policy allows) hold every scope.
 */
import { z } from 'zod';

export const RESOURCES = [
  'routes',
  'policies',
  'config',
  'users',
  'groups',
  'sessions',
  'devices',
  'certificates',
  'audit',
  'tokens',
] as const;
export type Resource = (typeof RESOURCES)[number];

/** `audit` is read-only: the log is changed by nothing but the writer. */
const READ_ONLY: ReadonlySet<Resource> = new Set(['audit']);

export const SCOPES = RESOURCES.flatMap((r) =>
  READ_ONLY.has(r) ? [`${r}:read`] : [`${r}:read`, `${r}:write`],
) as readonly Scope[];
export type Scope = `${Resource}:${'read' | 'write'}`;

export const ScopeSchema = z
  .enum(SCOPES as unknown as [Scope, ...Scope[]])
  .meta({ description: 'A resource and an access: `users:read`, `policies:write`, ...' });

/** True when `held` grants `needed` (`x:write` grants `x:read`). */
export function grants(held: readonly Scope[], needed: Scope): boolean {
  if (held.includes(needed)) return true;
  const [resource, access] = needed.split(':');
  return access === 'read' && held.includes(`${resource}:write` as Scope);
}
