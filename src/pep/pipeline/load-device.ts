/**
 * Step: the facts of the device the request comes from, by the session's device id or the client
 * certificate, through the device port. Unknown is no device; an inventory that cannot be
 * consulted is a 503 (fail closed).
 */
import type { DeviceFacts } from '../../pdp/input.js';
import type { RequestContext } from '../context.js';
import { codeOf } from '../errors.js';
import { serverError } from '../respond/replies.js';
import type { StepResult } from './step.js';

export function loadDevice(ctx: RequestContext): StepResult | Promise<StepResult> {
  const port = ctx.rt.devices;
  const deviceId = ctx.identity?.deviceId;
  const certFingerprint = ctx.certFingerprint;
  if (port === undefined || (deviceId === undefined && certFingerprint === undefined)) {
    return undefined;
  }
  let r;
  try {
    r = port.lookup({ deviceId, certFingerprint });
  } catch (e) {
    return unavailable(ctx, e);
  }
  if (r !== undefined && typeof (r as Promise<unknown>).then === 'function') {
    return (r as Promise<DeviceFacts | undefined>).then(
      (device) => {
        ctx.device = device;
        return undefined;
      },
      (e: unknown) => unavailable(ctx, e),
    );
  }
  ctx.device = r as DeviceFacts | undefined;
  return undefined;
}

function unavailable(ctx: RequestContext, e: unknown): StepResult {
  ctx.rt.log(
    'error',
    'ZT_PEP_DEPENDENCY_UNAVAILABLE',
    'device facts are unavailable; request refused',
    {
      request_id: ctx.id,
      cause: codeOf(e),
    },
  );
  return serverError(ctx, 503, 'ZT_PEP_DEPENDENCY_UNAVAILABLE');
}
