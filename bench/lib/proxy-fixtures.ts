/**
 * The policy ztgate enforces in the proxy benchmark: PRODUCT.md's engineering policy (group, MFA
 * age, a managed device with posture, a risk deny rule) plus a method list.
 */
export const BENCH_POLICY = {
  allow: [
    {
      groups: ['engineering'],
      mfa: { max_age: '8h' },
      methods: ['GET', 'HEAD', 'POST'],
      device: {
        managed: true,
        posture: { disk_encrypted: true, os_patch_age_days: { max: 30 } },
      },
    },
  ],
  deny: [{ risk: { min: 70 } }],
};
