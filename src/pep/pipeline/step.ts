/**
 * The request pipeline, in the shape of node-oidc-provider's actions: a list of small steps, each
 * doing one thing to the request context. A step returns nothing to go on, or a Reply that ends the
 * request (a refusal, a redirect, an error). Most steps are synchronous; the runner awaits only
 * when a step returns a promise.
 */
import type { RequestContext } from '../context.js';
import type { Reply } from '../respond/replies.js';

export type StepResult = Reply | undefined;
export type Step = (ctx: RequestContext) => StepResult | Promise<StepResult>;

export async function runSteps(steps: readonly Step[], ctx: RequestContext): Promise<StepResult> {
  for (let i = 0; i < steps.length; i++) {
    let r = (steps[i] as Step)(ctx);
    if (r !== undefined && typeof (r as Promise<StepResult>).then === 'function') r = await r;
    if (r !== undefined) return r;
  }
  return undefined;
}
