/**
 * The one entry to `@peculiar/x509`: it needs `reflect-metadata` loaded before it is first
 * imported, and it signs through the WebCrypto provider set here (Node's own `webcrypto`).
 * Every module of src/pki imports the library from this file, never directly.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import type { webcrypto as WebCrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };

export type CryptoKey = WebCrypto.CryptoKey;
export type CryptoKeyPair = WebCrypto.CryptoKeyPair;

/** ECDSA P-256 with SHA-256: the only algorithm the CA's own keys use. */
export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/**
 * Limits for parsing untrusted DER with `@peculiar/x509` (certificates presented by TLS clients):
 * a certificate nests a dozen levels deep and holds a few hundred nodes.
 */
export const UNTRUSTED_PARSE = {
  berOptions: { maxDepth: 32, maxNodes: 4096, maxContentLength: 64 * 1024 },
} as const;
