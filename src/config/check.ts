/**
 * The checks the schema cannot express, run after it on the same data: URLs, listen addresses,
 * session durations, routes (duplicates, policies that exist, insecure upstreams, `tls` only with an
 * https upstream), trusted proxies, the access log target. Each problem has
 * the location of the value it is about. Values the schema already rejected are skipped, so one
 * mistake gives one problem. The policy criteria themselves (CIDRs, time zones, globs) are the
 * PDP's to check, not this file's; `proxy.trusted_proxies` is read with the PDP's own CIDR parser
 * (a module that imports nothing), so it accepts exactly what `source_ip` and the proxy accept.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { parseCidr } from '../pdp/match/ip.js';
import { DURATION_PATTERN, formatDuration, parseDuration } from '../shared/duration.js';
import type { Problem } from '../shared/errors.js';
import type { KeyPath, SourceLocation } from '../shared/source.js';
import { formatKeyPath } from '../shared/source.js';
import { suggest } from '../shared/suggest.js';
import { codeText, problem, warning } from './problem.js';
import { ACCESS_LOG_TARGETS, POLICY_NAME_PATTERN } from './schema.js';

export interface CheckContext {
  /** the position of the value at a path (or its nearest ancestor), or its environment variable */
  readonly at: (path: KeyPath) => SourceLocation | undefined;
  /** whether an earlier stage already reported a problem at this path */
  readonly reported: (path: KeyPath) => boolean;
  /** takes one problem; returns false when no more are wanted */
  readonly add: (p: Problem) => boolean;
}

/** A listen address split into its host (IPv6 without brackets) and port. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const DURATION = new RegExp(DURATION_PATTERN);
const POLICY_NAME = new RegExp(POLICY_NAME_PATTERN);

/**
 * Parses `host:port` (`127.0.0.1:8443`, `[::1]:8443`, `localhost:8443`, `0.0.0.0:8443`).
 * Returns the address, or the reason it is not one and what to write instead.
 */
export function parseListen(text: string): ListenAddress | { error: string; help: string } {
  const example = 'write `host:port`, for example `127.0.0.1:8443`, `0.0.0.0:8443` or `[::1]:8443`';
  let host: string;
  let portText: string;
  if (/^\[[^\]]*\]$/.test(text)) {
    return {
      error: `${codeText(text)} has no port`,
      help: `add a port: ${codeText(`${text}:8443`)}`,
    };
  }
  const bracketed = /^\[([^\]]*)\]:(.*)$/s.exec(text);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2] ?? '';
    if (!isIPv6(host))
      return { error: `${codeText(host)} in brackets is not an IPv6 address`, help: example };
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0)
      return {
        error: `${codeText(text)} has no port`,
        help: `add a port: ${codeText(`${text}:8443`)}`,
      };
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) {
      return {
        error: `${codeText(text)} has an IPv6 address without brackets`,
        help: `put the address in brackets: ${codeText(`[${host}]:${portText}`)}`,
      };
    }
    if (host === '') {
      return {
        error: `${codeText(text)} has no host`,
        help: `listen on every interface with ${codeText(`0.0.0.0${text}`)} or ${codeText(`[::]${text}`)}, or on loopback only with ${codeText(`127.0.0.1${text}`)}`,
      };
    }
    const looksNumeric = /^[0-9.]+$/.test(host);
    if (looksNumeric ? !isIPv4(host) : !HOSTNAME.test(host)) {
      return { error: `${codeText(host)} is not an IP address or host name`, help: example };
    }
  }
  if (!/^[0-9]{1,5}$/.test(portText)) {
    return {
      error: `${codeText(portText)} is not a port number`,
      help: 'a port is a number from 1 to 65535',
    };
  }
  const port = Number(portText);
  if (port < 1 || port > 65535) {
    return { error: `port ${port} is out of range`, help: 'a port is a number from 1 to 65535' };
  }
  return { host, port };
}

/** Whether a URL host (as `URL.hostname` gives it) is a loopback address or a `localhost` name. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) return h === '::1' || /^::ffff:(127\.|7f[0-9a-f]{2}:)/.test(h);
  return false;
}

/** A URL as quoted in a message: any user info is hidden, it may hold a password. */
function urlText(text: string): string {
  return codeText(text.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, '$1…@'));
}

type UrlResult = { url: URL } | { error: string; help?: string };

function parseUrl(text: string): UrlResult {
  if (/\s/.test(text))
    return { error: `${urlText(text)} contains white space`, help: 'remove the spaces' };
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) {
    return {
      error: `${urlText(text)} is not an absolute URL`,
      help: 'start it with a scheme and a host, such as `https://app.example.com`',
    };
  }
  try {
    return { url: new URL(text) };
  } catch {
    return { error: `${urlText(text)} is not a valid URL` };
  }
}

function rec(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Runs every semantic check on validated-or-not config data; guards every access. */
export function checkConfig(data: Record<string, unknown>, ctx: CheckContext): void {
  const run = (path: KeyPath, fn: (value: string) => void): void => {
    const value = valueAtPath(data, path);
    if (typeof value !== 'string' || ctx.reported(path)) return;
    fn(value);
  };

  run(['public_url'], (v) => checkPublicUrl(v, ['public_url'], ctx));
  for (const path of [['listen'], ['metrics_listen'], ['audit', 'syslog', 'address']]) {
    run(path, (v) => {
      const r = parseListen(v);
      if ('error' in r) {
        ctx.add(
          problem('ZT_CONFIG_INVALID_LISTEN', r.error, { help: r.help, path, at: ctx.at(path) }),
        );
      }
    });
  }
  run(['audit', 'webhook', 'url'], (v) => checkWebhookUrl(v, ctx));
  run(['store'], (v) => checkStore(v, ctx));
  checkSession(data, ctx);
  run(['identity', 'oidc', 'issuer'], (v) => checkIssuer(v, ctx));
  const scopes = valueAtPath(data, ['identity', 'oidc', 'scopes']);
  if (
    Array.isArray(scopes) &&
    !ctx.reported(['identity', 'oidc', 'scopes']) &&
    !scopes.includes('openid')
  ) {
    const path = ['identity', 'oidc', 'scopes'];
    ctx.add(
      problem('ZT_CONFIG_INVALID_VALUE', '`scopes` does not include `openid`', {
        help: 'OpenID Connect requires the `openid` scope: add it to the list',
        path,
        at: ctx.at(path),
      }),
    );
  }
  checkRoutes(data, ctx);
  checkTrustedProxies(data, ctx);
  run(['proxy', 'access_log'], (v) => checkAccessLog(v, ctx));
}

/** Whether an `access_log` value names a file rather than one of the keywords. */
export function isAccessLogFile(value: string): boolean {
  return !(ACCESS_LOG_TARGETS as readonly string[]).includes(value);
}

function checkTrustedProxies(data: Record<string, unknown>, ctx: CheckContext): void {
  const base = ['proxy', 'trusted_proxies'];
  const list = valueAtPath(data, base);
  if (!Array.isArray(list)) return;
  for (let i = 0; i < list.length; i++) {
    const path = [...base, i];
    const text: unknown = list[i];
    if (typeof text !== 'string' || ctx.reported(path)) continue;
    const r = parseCidr(text);
    if (!r.ok) {
      const more = ctx.add(
        problem('ZT_CONFIG_INVALID_CIDR', r.message, {
          help: 'write an address (`192.0.2.7`, `2001:db8::7`) or a CIDR (`10.0.0.0/8`, `2001:db8::/32`)',
          path,
          at: ctx.at(path),
        }),
      );
      if (!more) return;
    } else if (r.prefix === 0) {
      // Believing every peer's X-Forwarded-For lets any client choose its own address.
      ctx.add(
        warning(
          'ZT_CONFIG_INSECURE',
          `${codeText(text)} trusts the forwarding headers of every client`,
          {
            help: 'any client can then claim any address and scheme: list only the addresses of the proxies in front of ztgate',
            path,
            at: ctx.at(path),
          },
        ),
      );
    }
  }
}

function checkAccessLog(value: string, ctx: CheckContext): void {
  if (!isAccessLogFile(value) || value.includes('/')) return;
  const path = ['proxy', 'access_log'];
  const near = suggest(value, ACCESS_LOG_TARGETS);
  ctx.add(
    problem(
      'ZT_CONFIG_INVALID_VALUE',
      `expected \`stdout\`, \`stderr\`, \`off\` or a file path, got ${codeText(value)}`,
      {
        help: near
          ? `did you mean ${codeText(near)}?`
          : `a file path contains a \`/\`: write ${codeText(`./${value}`)} for a file beside the config`,
        path,
        at: ctx.at(path),
      },
    ),
  );
}

function valueAtPath(data: unknown, path: KeyPath): unknown {
  let cur = data;
  for (const seg of path) {
    if (Array.isArray(cur) && typeof seg === 'number') cur = cur[seg];
    else {
      const r = rec(cur);
      if (!r || !Object.hasOwn(r, String(seg))) return undefined;
      cur = r[String(seg)];
    }
  }
  return cur;
}

function checkPublicUrl(text: string, path: KeyPath, ctx: CheckContext): void {
  const fail = (error: string, help: string | undefined): void => {
    ctx.add(problem('ZT_CONFIG_INVALID_URL', error, { help, path, at: ctx.at(path) }));
  };
  const r = parseUrl(text);
  if ('error' in r)
    return fail(
      r.error,
      r.help ?? 'write it as `https://auth.example.com` or `https://auth.example.com:8443`',
    );
  const { url } = r;
  if (url.protocol !== 'https:') {
    return fail(
      `\`public_url\` must use https, got ${codeText(url.protocol.slice(0, -1))}`,
      `write ${codeText(`https://${url.host}`)}`,
    );
  }
  if (url.hostname === '')
    return fail(`${urlText(text)} has no host`, 'write it as `https://auth.example.com`');
  if (url.username || url.password)
    return fail(
      `${urlText(text)} contains a user name or password`,
      `write ${codeText(url.origin)}`,
    );
  if (url.pathname !== '/' || url.search || url.hash || /[?#]/.test(text)) {
    return fail(
      `\`public_url\` must be an origin without a path, query or fragment, got ${urlText(text)}`,
      `write ${codeText(url.origin)}; ztgate serves its own paths under it`,
    );
  }
}

function checkStore(text: string, ctx: CheckContext): void {
  if (text === 'sqlite') return;
  const path = ['store'];
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.add(
      problem('ZT_CONFIG_INVALID_URL', `the \`store\` URL is not a valid PostgreSQL URL`, {
        help: 'write it as `postgres://user@host:5432/database`',
        path,
        at: ctx.at(path),
      }),
    );
    return;
  }
  if (url.password) {
    ctx.add(
      warning('ZT_CONFIG_INSECURE', 'the `store` URL contains a password', {
        help: 'leave the password out of the config and give it through a passfile (`PGPASSFILE`) or `PGPASSWORD`',
        path,
        at: ctx.at(path),
      }),
    );
  }
}

function checkSession(data: Record<string, unknown>, ctx: CheckContext): void {
  const session = rec(data.session) ?? {};
  const ms: Record<string, number | undefined> = {};
  for (const key of ['ttl', 'idle', 'revalidate']) {
    const path = ['session', key];
    const text = str(session[key]);
    if (text === undefined || ctx.reported(path) || !DURATION.test(text)) continue;
    const value = parseDuration(text);
    if (value === undefined) {
      ctx.add(
        problem('ZT_CONFIG_INVALID_DURATION', `${codeText(text)} is not a usable duration`, {
          help: 'a duration is at most 10 years and names each unit once, such as `1h30m`',
          path,
          at: ctx.at(path),
        }),
      );
      continue;
    }
    if (value === 0 && key !== 'revalidate') {
      ctx.add(
        problem('ZT_CONFIG_INVALID_VALUE', `\`session.${key}\` must be longer than 0`, {
          help: 'a session that ends at once could never be used: give a duration such as `8h`',
          path,
          at: ctx.at(path),
        }),
      );
      continue;
    }
    ms[key] = value;
  }
  const ttl = ms.ttl ?? (session.ttl === undefined ? parseDuration('8h') : undefined);
  const idle = ms.idle;
  if (ttl !== undefined && idle !== undefined && idle > ttl) {
    const path = ['session', 'idle'];
    ctx.add(
      problem(
        'ZT_CONFIG_INVALID_VALUE',
        `\`session.idle\` (${formatDuration(idle)}) is longer than \`session.ttl\` (${formatDuration(ttl)})`,
        {
          help: 'a session ends at `ttl` however active it is: make `idle` at most `ttl`',
          path,
          at: ctx.at(path),
        },
      ),
    );
  }
}

/** Audit records go to the webhook: https, or plain http to loopback only (with a warning). */
function checkWebhookUrl(text: string, ctx: CheckContext): void {
  const path = ['audit', 'webhook', 'url'];
  const fail = (error: string, help: string): void => {
    ctx.add(problem('ZT_CONFIG_INVALID_URL', error, { help, path, at: ctx.at(path) }));
  };
  const r = parseUrl(text);
  if ('error' in r)
    return fail(r.error, r.help ?? 'write an https URL, such as `https://siem.example.com/ingest`');
  const { url } = r;
  if (url.username || url.password) {
    return fail('the webhook URL has user info', 'put the credential in `secret_file` instead');
  }
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) {
    ctx.add(
      warning('ZT_CONFIG_INSECURE', `the audit webhook ${urlText(text)} uses plain http`, {
        help: 'acceptable on loopback only; audit records carry user and device identities',
        path,
        at: ctx.at(path),
      }),
    );
    return;
  }
  fail(
    `the audit webhook must be an https URL, got ${urlText(text)}`,
    'audit records must not cross a network in the clear',
  );
}

function checkIssuer(text: string, ctx: CheckContext): void {
  const path = ['identity', 'oidc', 'issuer'];
  const fail = (error: string, help: string): void => {
    ctx.add(problem('ZT_CONFIG_INVALID_URL', error, { help, path, at: ctx.at(path) }));
  };
  const r = parseUrl(text);
  if ('error' in r)
    return fail(
      r.error,
      r.help ??
        'write the issuer URL of your identity provider, such as `https://login.example.com`',
    );
  const { url } = r;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return fail(
      `the issuer must be an https URL, got ${urlText(text)}`,
      'write it as `https://login.example.com`',
    );
  }
  if (url.search || url.hash || url.username || url.password) {
    return fail(
      `the issuer ${urlText(text)} has a query, fragment or user info`,
      'OpenID Connect issuers are plain URLs: remove them',
    );
  }
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) {
      return fail(
        `the issuer must use https, got ${urlText(text)}`,
        `write ${codeText(text.replace(/^http:/i, 'https:'))}`,
      );
    }
    ctx.add(
      warning('ZT_CONFIG_INSECURE', `the issuer ${urlText(text)} uses plain http`, {
        help: 'acceptable for a local test identity provider only; use https anywhere else',
        path,
        at: ctx.at(path),
      }),
    );
  }
}

/** The route key two routes may not share: lower-case origin plus the path prefix without a final `/`. */
export function routeKey(url: URL): string {
  const prefix = url.pathname.replace(/\/+$/, '');
  return `${url.origin.toLowerCase()}${prefix}`;
}

function checkRoutes(data: Record<string, unknown>, ctx: CheckContext): void {
  const routes = data.routes;
  if (!Array.isArray(routes)) return;
  // No `policies:` at all means no policies (the default), not "unknown".
  const policies = data.policies === undefined ? {} : rec(data.policies);
  const policyNames = policies ? Object.keys(policies) : [];
  const seen = new Map<string, number>();
  for (let i = 0; i < routes.length; i++) {
    const route = rec(routes[i]);
    if (!route) continue;
    const base = ['routes', i];
    const fromPath = [...base, 'from'];
    const from = str(route.from);
    if (from !== undefined && !ctx.reported(fromPath)) {
      const url = checkFrom(from, fromPath, ctx);
      if (url) {
        const key = routeKey(url);
        const first = seen.get(key);
        if (first === undefined) seen.set(key, i);
        else {
          const firstAt = ctx.at(['routes', first, 'from']);
          ctx.add(
            problem(
              'ZT_CONFIG_DUPLICATE_ROUTE',
              `two routes have the same \`from\` ${urlText(from)}`,
              {
                help: `${formatKeyPath(['routes', first])}${firstAt && !firstAt.env ? ` (line ${firstAt.line})` : ''} has it too: merge them or remove one`,
                path: fromPath,
                at: ctx.at(fromPath),
              },
            ),
          );
        }
      }
    }
    const toPath = [...base, 'to'];
    const to = str(route.to);
    if (to !== undefined && !ctx.reported(toPath)) checkTo(to, toPath, ctx);
    checkUpstreamTls(route, base, ctx);

    const policyPath = [...base, 'policy'];
    const policy = route.policy;
    if (
      typeof policy === 'string' &&
      POLICY_NAME.test(policy) &&
      policies &&
      !ctx.reported(policyPath)
    ) {
      if (!Object.hasOwn(policies, policy)) {
        const near = suggest(policy, policyNames);
        ctx.add(
          problem('ZT_POLICY_UNKNOWN', `no policy is named ${codeText(policy)}`, {
            help: near
              ? `did you mean ${codeText(near)}?`
              : policyNames.length === 0
                ? 'define it under `policies:`'
                : `define it under \`policies:\`, or use one of ${policyNames
                    .slice(0, 10)
                    .map((n) => codeText(n))
                    .join(', ')}`,
            path: policyPath,
            at: ctx.at(policyPath),
          }),
        );
      }
    }

    const modePath = [...base, 'mode'];
    if (route.mode === 'audit' && !ctx.reported(modePath)) {
      ctx.add(
        warning(
          'ZT_CONFIG_INSECURE',
          `route ${from === undefined ? String(i) : urlText(from)} is in audit mode: denied requests are forwarded anyway`,
          {
            help: 'set `mode: enforce` once the policy has been tried out',
            path: modePath,
            at: ctx.at(modePath),
          },
        ),
      );
    }
  }
}

/** A route's `tls` goes with an `https://` upstream; `server_name` is a DNS name (SNI takes no address). */
function checkUpstreamTls(route: Record<string, unknown>, base: KeyPath, ctx: CheckContext): void {
  const tlsPath = [...base, 'tls'];
  const tls = rec(route.tls);
  if (!tls) return;
  const to = str(route.to);
  const toPath = [...base, 'to'];
  if (to !== undefined && !ctx.reported(toPath) && /^http:/i.test(to)) {
    ctx.add(
      problem(
        'ZT_CONFIG_INVALID_VALUE',
        `\`tls\` applies to an \`https://\` upstream, and \`to\` is ${urlText(to)}`,
        {
          help: `proxy to ${codeText(to.replace(/^http:/i, 'https:'))} if the upstream serves TLS, or remove \`tls\``,
          path: tlsPath,
          at: ctx.at(tlsPath),
        },
      ),
    );
  }
  const namePath = [...tlsPath, 'server_name'];
  const name = str(tls.server_name);
  if (name === undefined || ctx.reported(namePath)) return;
  const bare = name.replace(/^\[(.*)\]$/, '$1');
  if (isIPv4(bare) || isIPv6(bare)) {
    ctx.add(
      problem(
        'ZT_CONFIG_INVALID_VALUE',
        `\`server_name\` must be a DNS name, got the address ${codeText(name)}`,
        {
          help: 'TLS sends no IP address in SNI; leave `server_name` out to verify the certificate against the address in `to`',
          path: namePath,
          at: ctx.at(namePath),
        },
      ),
    );
  } else if (!HOSTNAME.test(name)) {
    ctx.add(
      problem('ZT_CONFIG_INVALID_VALUE', `${codeText(name)} is not a DNS name`, {
        help: 'write the name in the upstream’s certificate, such as `app.internal`',
        path: namePath,
        at: ctx.at(namePath),
      }),
    );
  }
}

function checkFrom(text: string, path: KeyPath, ctx: CheckContext): URL | undefined {
  const fail = (error: string, help: string): undefined => {
    ctx.add(problem('ZT_CONFIG_INVALID_URL', error, { help, path, at: ctx.at(path) }));
    return undefined;
  };
  const example =
    'write it as `https://app.example.com` or, with a path prefix, `https://app.example.com/api`';
  const r = parseUrl(text);
  if ('error' in r) return fail(r.error, r.help ?? example);
  const { url } = r;
  if (url.protocol !== 'https:') {
    return fail(
      `a route's \`from\` must use https, got ${urlText(text)}`,
      `write ${codeText(text.replace(/^[A-Za-z][A-Za-z0-9+.-]*:/, 'https:'))}; ztgate always serves TLS`,
    );
  }
  if (url.hostname === '') return fail(`${urlText(text)} has no host`, example);
  if (url.username || url.password)
    return fail(`${urlText(text)} contains a user name or password`, example);
  if (url.search || url.hash || /[?#]/.test(text)) {
    return fail(
      `a route's \`from\` cannot have a query or fragment, got ${urlText(text)}`,
      example,
    );
  }
  return url;
}

function checkTo(text: string, path: KeyPath, ctx: CheckContext): void {
  const fail = (error: string, help: string): void => {
    ctx.add(problem('ZT_CONFIG_INVALID_URL', error, { help, path, at: ctx.at(path) }));
  };
  const example = 'write it as `http://127.0.0.1:9000` or `https://app.internal:8443`';
  const r = parseUrl(text);
  if ('error' in r) return fail(r.error, r.help ?? example);
  const { url } = r;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return fail(`a route's \`to\` must be an http or https URL, got ${urlText(text)}`, example);
  }
  if (url.hostname === '') return fail(`${urlText(text)} has no host`, example);
  if (url.username || url.password) {
    return fail(
      `${codeText(url.origin)} in \`to\` contains a user name or password`,
      'remove them: credentials in upstream URLs are not supported',
    );
  }
  if (url.search || url.hash || /[?#]/.test(text)) {
    return fail(`a route's \`to\` cannot have a query or fragment, got ${urlText(text)}`, example);
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    ctx.add(
      warning(
        'ZT_CONFIG_INSECURE',
        `requests to ${urlText(text)} travel unencrypted over the network`,
        {
          help: 'use https to the upstream, or run the upstream on the same host and proxy to a loopback address',
          path,
          at: ctx.at(path),
        },
      ),
    );
  }
}
