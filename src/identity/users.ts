/**
 * User administration for the built-in IdP (and the CLI): creating users with hashed passwords,
 * disabling them (which ends their sessions), changing passwords and groups. Users live in the
 * store's UserStore; this module adds the identity rules around it.
 */
import { randomBytes } from 'node:crypto';
import { ZtError } from '../shared/errors.js';
import { StoreConflictError, type UserRecord, type UserStore } from '../store/store.js';
import { emitAudit, type IdentityAuditSink } from './audit.js';
import { hashPassword } from './password.js';

export interface UserAdminOptions {
  readonly users: UserStore;
  readonly now?: () => number;
  readonly audit?: IdentityAuditSink;
  /** ends every session of a user (SessionManager.revokeUser); called on disable and password change */
  readonly revokeSessions?: (userId: string, reason: string) => Promise<number>;
  /** who is acting, for the audit log (`cli`, an admin's user id) */
  readonly actor?: string;
}

const GROUP = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

export function newUserId(): string {
  return `u_${randomBytes(12).toString('base64url')}`;
}

/** Splits `a,b , c` into group names and checks each. */
export function parseGroups(values: readonly string[] | string | undefined): string[] {
  const list = (typeof values === 'string' ? [values] : (values ?? []))
    .flatMap((v) => v.split(','))
    .map((g) => g.trim())
    .filter((g) => g.length > 0);
  for (const g of list) {
    if (!GROUP.test(g)) {
      throw new ZtError('ZT_CLI_INPUT_INVALID', `\`${g}\` is not a group name`, {
        help: 'group names are 1 to 128 letters, digits, `.`, `_`, `:`, `@` or `-`',
      });
    }
  }
  return [...new Set(list)].sort();
}

export function checkEmail(email: string): string {
  const e = email.trim();
  const at = e.lastIndexOf('@');
  if (at < 1 || at === e.length - 1 || /[\s<>"(),;:\\[\]]/.test(e) || e.length > 320) {
    throw new ZtError('ZT_CLI_INPUT_INVALID', `\`${email}\` is not an email address`);
  }
  return e;
}

export class UserAdmin {
  private readonly now: () => number;
  private readonly audit: IdentityAuditSink;

  constructor(private readonly o: UserAdminOptions) {
    this.now = o.now ?? Date.now;
    this.audit = o.audit ?? (() => undefined);
  }

  private event(
    action: string,
    user: UserRecord,
    details: Record<string, string | number | boolean | readonly string[]> = {},
  ): void {
    emitAudit(this.audit, {
      kind: 'admin',
      time: this.now(),
      action,
      outcome: 'success',
      actor: this.o.actor ? { user: this.o.actor } : {},
      resource: `user:${user.id}`,
      details: { email: user.email, ...details },
    });
  }

  async require(email: string): Promise<UserRecord> {
    const user = await this.o.users.getByEmail(email);
    if (!user) {
      throw new ZtError('ZT_IDENTITY_USER_UNKNOWN', `no user has the email \`${email}\``, {
        help: 'list users with `ztgate user list`',
      });
    }
    return user;
  }

  async add(input: {
    readonly email: string;
    readonly displayName?: string;
    readonly groups?: readonly string[];
    readonly password?: string;
  }): Promise<UserRecord> {
    const email = checkEmail(input.email);
    const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
    try {
      const user = await this.o.users.create({
        id: newUserId(),
        email,
        displayName: input.displayName ?? '',
        groups: input.groups ?? [],
        passwordHash,
        at: this.now(),
      });
      this.event('user.created', user, { groups: user.groups, password: passwordHash !== null });
      return user;
    } catch (err) {
      if (err instanceof StoreConflictError) {
        throw new ZtError(
          'ZT_IDENTITY_USER_EXISTS',
          `a user with the email \`${email}\` already exists`,
          {
            help: 'change it with `ztgate user passwd` or `ztgate user groups`',
          },
        );
      }
      throw err;
    }
  }

  async setPassword(
    email: string,
    password: string,
  ): Promise<{ user: UserRecord; sessionsEnded: number }> {
    const user = await this.require(email);
    const passwordHash = await hashPassword(password);
    const updated = await this.o.users.update(user.id, { passwordHash, at: this.now() });
    this.event('user.password_changed', updated);
    const sessionsEnded = (await this.o.revokeSessions?.(user.id, 'password-changed')) ?? 0;
    return { user: updated, sessionsEnded };
  }

  async setDisabled(
    email: string,
    disabled: boolean,
  ): Promise<{ user: UserRecord; sessionsEnded: number }> {
    const user = await this.require(email);
    const updated =
      user.disabled === disabled
        ? user
        : await this.o.users.update(user.id, { disabled, at: this.now() });
    if (user.disabled !== disabled)
      this.event(disabled ? 'user.disabled' : 'user.enabled', updated);
    const sessionsEnded = disabled
      ? ((await this.o.revokeSessions?.(user.id, 'user-disabled')) ?? 0)
      : 0;
    return { user: updated, sessionsEnded };
  }

  async changeGroups(
    email: string,
    add: readonly string[],
    remove: readonly string[],
  ): Promise<UserRecord> {
    const user = await this.require(email);
    const groups = new Set(user.groups);
    for (const g of remove) groups.delete(g);
    for (const g of add) groups.add(g);
    const next = [...groups].sort();
    if (next.join('\n') === user.groups.join('\n')) return user;
    const updated = await this.o.users.update(user.id, { groups: next, at: this.now() });
    this.event('user.groups_changed', updated, { added: add, removed: remove, groups: next });
    return updated;
  }
}
