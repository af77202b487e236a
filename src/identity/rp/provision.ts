/**
 * From an IdP's identity to a ztgate user.
 *
 * - The built-in IdP's `sub` is the user's id: the user must exist and be enabled.
 * - An external IdP's user gets a stable id derived from (issuer, sub), `x_` + 22 base64url
 *   characters, created on first sign-in and updated (email, name, groups) on each one. Linking is
 *   by (issuer, sub) only, never by email: an identity whose email belongs to another ztgate user
 *   is refused (`ZT_IDENTITY_ACCOUNT_CONFLICT`) rather than merged, since whoever controls an IdP
 *   account could otherwise take over a local one. A user disabled in ztgate stays disabled.
 */
import { createHash } from 'node:crypto';
import { ZtError } from '../../shared/errors.js';
import type { UserRecord, UserStore } from '../../store/store.js';
import type { ExternalIdentity } from './relying-party.js';

export type IdpKind = 'builtin' | 'external';

export function externalUserId(issuer: string, subject: string): string {
  return `x_${createHash('sha256').update(`${issuer}\0${subject}`).digest('base64url').slice(0, 22)}`;
}

/** The ztgate user id an IdP subject maps to. */
export function userIdFor(kind: IdpKind, issuer: string, subject: string): string {
  return kind === 'builtin' ? subject : externalUserId(issuer, subject);
}

export async function provisionUser(
  users: UserStore,
  kind: IdpKind,
  identity: ExternalIdentity,
  now: number,
): Promise<UserRecord> {
  const disabled = (u: UserRecord) =>
    new ZtError('ZT_IDENTITY_USER_DISABLED', `\`${u.email}\` is disabled in ztgate`, {
      help: 'an administrator can enable the user with `ztgate user enable`',
    });
  if (kind === 'builtin') {
    const user = await users.get(identity.subject);
    if (!user) throw new ZtError('ZT_IDENTITY_USER_UNKNOWN', 'the signed-in user no longer exists');
    if (user.disabled) throw disabled(user);
    return user;
  }
  const id = externalUserId(identity.issuer, identity.subject);
  const existing = await users.get(id);
  if (existing) {
    if (existing.disabled) throw disabled(existing);
    const groupsChanged = existing.groups.join('\n') !== identity.groups.join('\n');
    const emailChanged = existing.email !== identity.email;
    const nameChanged = identity.name !== '' && existing.displayName !== identity.name;
    if (!groupsChanged && !emailChanged && !nameChanged) return existing;
    if (emailChanged) {
      const other = await users.getByEmail(identity.email);
      if (other && other.id !== id) throw conflict(identity.email);
    }
    return users.update(id, {
      ...(groupsChanged ? { groups: identity.groups } : {}),
      ...(emailChanged ? { email: identity.email } : {}),
      ...(nameChanged ? { displayName: identity.name } : {}),
      at: now,
    });
  }
  if (await users.getByEmail(identity.email)) throw conflict(identity.email);
  return users.create({
    id,
    email: identity.email,
    displayName: identity.name,
    groups: identity.groups,
    passwordHash: null,
    at: now,
  });
}

function conflict(email: string): ZtError {
  return new ZtError(
    'ZT_IDENTITY_ACCOUNT_CONFLICT',
    `another ztgate user already has the email \`${email}\``,
    { help: 'remove or rename the local user, or sign in with the identity provider it came from' },
  );
}
