/** Object identifiers used by the CA. */
export const OID = {
  // attribute types (names)
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  organizationalUnitName: '2.5.4.11',
  userId: '0.9.2342.19200300.100.1.1',

  // certificate extensions
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  crlNumber: '2.5.29.20',
  nameConstraints: '2.5.29.30',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',

  // extended key usages
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  anyExtendedKeyUsage: '2.5.29.37.0',

  // CSR attributes
  extensionRequest: '1.2.840.113549.1.9.14',

  // keys
  ecPublicKey: '1.2.840.10045.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ed25519: '1.3.101.112',

  // signature algorithms
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
} as const;

/** Signature algorithms accepted on a CSR: the key type they need and the hash for node:crypto. */
export const SIGNATURE_ALGORITHMS: ReadonlyMap<
  string,
  {
    readonly keyType: 'ec' | 'rsa' | 'ed25519';
    readonly hash: string | null;
    readonly name: string;
  }
> = new Map([
  [OID.ecdsaWithSha256, { keyType: 'ec', hash: 'sha256', name: 'ecdsa-with-SHA256' }],
  [OID.ecdsaWithSha384, { keyType: 'ec', hash: 'sha384', name: 'ecdsa-with-SHA384' }],
  [OID.ecdsaWithSha512, { keyType: 'ec', hash: 'sha512', name: 'ecdsa-with-SHA512' }],
  [OID.sha256WithRsa, { keyType: 'rsa', hash: 'sha256', name: 'sha256WithRSAEncryption' }],
  [OID.sha384WithRsa, { keyType: 'rsa', hash: 'sha384', name: 'sha384WithRSAEncryption' }],
  [OID.sha512WithRsa, { keyType: 'rsa', hash: 'sha512', name: 'sha512WithRSAEncryption' }],
  [OID.ed25519, { keyType: 'ed25519', hash: null, name: 'Ed25519' }],
]);
