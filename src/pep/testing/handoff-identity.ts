/**
 * TEST DOUBLE (tests only): the static identity double plus the optional sign-in handoff and
 * sign-out of the identity port. Tickets are plain strings the test makes with `ticket()`; each
 * works once, on its host only (and, when made with a nonce, only with that nonce cookie), and sets
 * the double's test session cookie. Real tickets (sealed, 60 s, single use across replicas, bound
 * to the browser) come from src/identity/session/handoff.ts.
 */
import { ZtError } from '../../shared/errors.js';
import {
  PortUnavailableError,
  type HandoffRequest,
  type PortRedirect,
  type SignOutRequest,
} from '../ports.js';
import { StaticIdentityDouble, TEST_SESSION_COOKIE } from './static-identity.js';

interface TicketEntry {
  readonly host: string;
  readonly token: string;
  readonly path: string;
  readonly nonce: string | undefined;
}

export class HandoffIdentityDouble extends StaticIdentityDouble {
  private readonly tickets = new Map<string, TicketEntry>();
  private issued = 0;
  /** every handoff and sign-out request (tickets and cookies included: tests only) */
  readonly handoffs: HandoffRequest[] = [];
  readonly signOuts: SignOutRequest[] = [];
  /** when true, `handoff` throws PortUnavailableError (the store is down) */
  handoffUnavailable = false;

  /**
   * A one-time ticket that signs `host` in with the bearer token `token`, then goes to `path`;
   * with `nonce`, only for the browser whose nonce cookie holds it.
   */
  ticket(host: string, token: string, path = '/', nonce?: string): string {
    const t = `ticket-${++this.issued}`;
    this.tickets.set(t, { host, token, path, nonce });
    return t;
  }

  handoff(request: HandoffRequest): PortRedirect {
    this.handoffs.push(request);
    if (this.handoffUnavailable) throw new PortUnavailableError('identity', 'handoff is down');
    const ticket = new URLSearchParams(request.query).get('ticket') ?? '';
    const entry = this.tickets.get(ticket);
    if (entry === undefined) {
      throw new ZtError('ZT_IDENTITY_HANDOFF_REPLAYED', 'the sign-in link was already used');
    }
    if (entry.host !== request.host) {
      throw new ZtError('ZT_IDENTITY_HANDOFF_INVALID', 'the sign-in link is for another host');
    }
    if (entry.nonce !== undefined && entry.nonce !== request.nonce) {
      throw new ZtError(
        'ZT_IDENTITY_HANDOFF_BROWSER_MISMATCH',
        'this sign-in link was started in another browser',
      );
    }
    this.tickets.delete(ticket);
    return {
      location: `https://${request.host}${entry.path}`,
      setCookies: [`${TEST_SESSION_COOKIE}=${entry.token}; Path=/; Secure; HttpOnly; SameSite=Lax`],
    };
  }

  signOut(request: SignOutRequest): PortRedirect {
    this.signOuts.push(request);
    return {
      location: `${this.publicUrl}/oauth2/sign_out`,
      setCookies: [`${TEST_SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax`],
    };
  }
}
