/**
 * Serves the admin console (`/console/...`) and the user portal (`/portal/...`), built from web/
 * into dist/web/ by scripts/build-web.mjs. Each is one HTML page, the same for every path under
 * its prefix (the page routes itself), that loads one script and one stylesheet from
 * `/ui/assets/`: files whose names carry a hash of their content, read into memory at start and
 * served with year-long `immutable` cache headers. The page itself is never cached.
 *
 * The page holds no data and no inline script or style; everything it shows comes from the admin
 * API, over `fetch`, under a Content-Security-Policy that allows scripts, styles and connections to
 * this origin only and no framing. The page does not echo the request path or anything else from
 * the request.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';

export const ASSET_PREFIX = '/ui/assets/';

export interface WebUiOptions {
  /** where the build wrote `manifest.json` and `assets/`; default: dist/web beside this module */
  readonly dir?: string;
  /**
   * origins besides ours that a form on these pages may lead to: signing out posts to
   * `/oauth2/sign_out`, which redirects to an external IdP's end-session endpoint, and browsers
   * apply `form-action` to those redirects
   */
  readonly formActionOrigins?: readonly string[];
}

export interface WebUi {
  /** Answers `/console/...`, `/portal/...` and `/ui/assets/...`; resolves false for anything else. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** false when the build output is missing (the pages then answer 503) */
  readonly built: boolean;
}

interface Manifest {
  readonly entries: { readonly console: string; readonly portal: string; readonly style: string };
  readonly files: readonly string[];
}

interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

export function contentSecurityPolicy(formActionOrigins: readonly string[] = []): string {
  const formAction = ["'self'", ...formActionOrigins].join(' ');
  return (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
    `img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action ${formAction}`
  );
}

function defaultDir(): string {
  // dist/admin/console/web-ui.js -> dist/web; from the sources (tsx), the built copy in dist/
  const candidates = [
    join(import.meta.dirname, '..', '..', 'web'),
    join(import.meta.dirname, '..', '..', '..', 'dist', 'web'),
  ];
  return candidates.find((d) => existsSync(join(d, 'manifest.json'))) ?? candidates[0] ?? '';
}

function load(dir: string): { manifest: Manifest; assets: Map<string, Asset> } | undefined {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) return undefined;
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  const assets = new Map<string, Asset>();
  for (const name of manifest.files) {
    // names come from our own build, but a manifest is still input: one plain file name each
    if (!/^[A-Za-z0-9_-]+\.[a-z0-9]+$/.test(name)) continue;
    const type = TYPES[extname(name)];
    if (type === undefined) continue;
    assets.set(name, { body: readFileSync(join(dir, 'assets', name)), type });
  }
  return { manifest, assets };
}

function page(title: string, script: string, style: string): string {
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<meta name="referrer" content="same-origin">' +
    `<title>${title}</title>` +
    `<link rel="stylesheet" href="${ASSET_PREFIX}${style}">` +
    `<script type="module" src="${ASSET_PREFIX}${script}"></script>` +
    '</head><body><div id="app"><noscript>This page needs JavaScript.</noscript></div></body></html>\n'
  );
}

/** `/console`, `/console/`, `/console/x/y`, but not `/consoles`. */
function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

export function createWebUi(options: WebUiOptions = {}): WebUi {
  const loaded = load(options.dir ?? defaultDir());
  const csp = contentSecurityPolicy(options.formActionOrigins);
  const common: Record<string, string> = {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
  const pages = loaded
    ? {
        console: Buffer.from(
          page('ztgate console', loaded.manifest.entries.console, loaded.manifest.entries.style),
        ),
        portal: Buffer.from(
          page('ztgate', loaded.manifest.entries.portal, loaded.manifest.entries.style),
        ),
      }
    : undefined;

  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: Buffer | string,
  ): void => {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { ...common, ...headers, 'content-length': String(buf.length) });
    res.end(req.method === 'HEAD' ? undefined : buf);
  };

  return {
    built: loaded !== undefined,
    handle(req, res) {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const which = under(path, '/console')
        ? 'console'
        : under(path, '/portal')
          ? 'portal'
          : path.startsWith(ASSET_PREFIX)
            ? 'asset'
            : undefined;
      if (which === undefined) return Promise.resolve(false);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(req, res, 405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }, 'GET only\n');
        return Promise.resolve(true);
      }
      if (!loaded || !pages) {
        send(
          req,
          res,
          503,
          { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
          'the console is not built: run `npm run build`\n',
        );
        return Promise.resolve(true);
      }
      if (which === 'asset') {
        const asset = loaded.assets.get(path.slice(ASSET_PREFIX.length));
        if (!asset) {
          send(
            req,
            res,
            404,
            { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
            'not found\n',
          );
        } else {
          send(
            req,
            res,
            200,
            { 'content-type': asset.type, 'cache-control': 'public, max-age=31536000, immutable' },
            asset.body,
          );
        }
        return Promise.resolve(true);
      }
      send(
        req,
        res,
        200,
        { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
        pages[which],
      );
      return Promise.resolve(true);
    },
  };
}
