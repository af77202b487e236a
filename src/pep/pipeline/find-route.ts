/** Step: the route serving the request's host and canonical path; none is a 404. */
import { normalizeHost } from '../../pdp/index.js';
import type { RequestContext } from '../context.js';
import { notFound } from '../respond/replies.js';
import type { StepResult } from './step.js';

export function findRoute(ctx: RequestContext): StepResult {
  if (ctx.routeHost === '') ctx.routeHost = normalizeHost(ctx.host);
  const route = ctx.rt.engine.routes.match(ctx.host, ctx.path);
  if (route === undefined) return notFound(ctx);
  ctx.route = route;
  ctx.routeRt = ctx.rt.routeRuntime(route);
  return undefined;
}
