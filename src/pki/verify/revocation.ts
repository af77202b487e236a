/**
 * The in-process revocation set: the serials of every revoked certificate, checked on each TLS
 * connection (a revoked client certificate is refused at once, without waiting for a CRL) and
 * followed by subscribers that cut live connections.
 *
 * Revocations reach the set from `Pki.revoke` in this process and, across replicas, from whatever
 * feed is connected with `follow` (the store's event bus: `certificate.revoked` events). The store
 * stays the source of truth: `reload` rebuilds the set from it (at start, and after the bus
 * reports it may have missed events).
 */
import type { CertificateStore } from '../../store/store.js';
import { normalizeSerial } from '../serial.js';
import type { RevocationChecker } from './path.js';

export type RevocationListener = (serial: string) => void;

/** Revoked certificates read from the store per query. */
const RELOAD_PAGE = 1000;

/** Something that announces revocations; the event bus is adapted to this. */
export interface RevocationFeed {
  subscribe(listener: RevocationListener): () => void;
}

export class RevocationSet implements RevocationChecker, RevocationFeed {
  private readonly serials = new Set<string>();
  private readonly listeners = new Set<RevocationListener>();

  constructor(
    serials: Iterable<string> = [],
    private readonly onListenerError: (err: unknown) => void = () => undefined,
  ) {
    for (const s of serials) {
      const n = normalizeSerial(s);
      if (n) this.serials.add(n);
    }
  }

  static async load(store: Pick<CertificateStore, 'list'>, now?: number): Promise<RevocationSet> {
    const set = new RevocationSet();
    await set.reload(store, now);
    return set;
  }

  get size(): number {
    return this.serials.size;
  }

  isRevoked(serial: string): boolean {
    return this.serials.has(normalizeSerial(serial) ?? serial);
  }

  /** Adds a serial; returns false when it was already there. Listeners hear only new serials. */
  add(serial: string): boolean {
    const n = normalizeSerial(serial);
    if (!n || this.serials.has(n)) return false;
    this.serials.add(n);
    for (const l of [...this.listeners]) {
      try {
        l(n);
      } catch (err) {
        this.onListenerError(err);
      }
    }
    return true;
  }

  /**
   * Adds every revoked serial the store holds (revocations are never undone), reading it in pages.
   * With `now`, only certificates not expired at that time: expired ones fail by their dates.
   */
  async reload(store: Pick<CertificateStore, 'list'>, now?: number): Promise<number> {
    let added = 0;
    let cursor: string | undefined;
    do {
      const page = await store.list({
        revoked: true,
        limit: RELOAD_PAGE,
        ...(now !== undefined ? { notExpiredAt: now } : {}),
        ...(cursor !== undefined ? { cursor } : {}),
      });
      for (const r of page) if (this.add(r.serial)) added++;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return added;
  }

  subscribe(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Takes in the revocations another feed announces; returns the unsubscribe function. */
  follow(feed: RevocationFeed): () => void {
    return feed.subscribe((serial) => this.add(serial));
  }
}
