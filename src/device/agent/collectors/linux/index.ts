import type { Collector } from '../types.js';
import { linuxDiskEncryptionCollector } from './disk-encryption.js';
import { linuxEdrCollector } from './edr.js';
import { linuxFirewallCollector } from './firewall.js';
import { linuxOsCollector } from './os-release.js';
import { linuxPatchAgeCollector } from './patch-age.js';
import { linuxScreenLockCollector } from './screen-lock.js';

export const linuxCollectors: readonly Collector[] = [
  linuxOsCollector,
  linuxPatchAgeCollector,
  linuxDiskEncryptionCollector,
  linuxFirewallCollector,
  linuxScreenLockCollector,
  linuxEdrCollector,
];
