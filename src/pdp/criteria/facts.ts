/**
 * Defensive readers of the decision input. The input may come from JSON typed by a user
 * (`policy eval`), so every read checks the type and treats anything unexpected as missing.
 */
import type { DecisionInput, UserFacts } from '../input.js';

/** The signed-in user, or undefined when there is none (no user, or no non-empty id). */
export function signedInUser(input: DecisionInput): UserFacts | undefined {
  const user = input.user;
  if (user === null || typeof user !== 'object') return undefined;
  return typeof user.id === 'string' && user.id !== '' ? user : undefined;
}

export function stringField(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The device, when the request comes from a known one (an object with a non-empty id). */
export function knownDevice(
  input: DecisionInput,
): NonNullable<DecisionInput['device']> | undefined {
  const device = input.device;
  if (device === null || typeof device !== 'object') return undefined;
  return typeof device.id === 'string' && device.id !== '' ? device : undefined;
}

export function requestField(
  input: DecisionInput,
  key: 'method' | 'host' | 'path' | 'source_ip' | 'country',
): string | undefined {
  const request = input.request;
  if (request === null || typeof request !== 'object') return undefined;
  return stringField(request[key]);
}
