/**
 * The pages a person sees when the proxy refuses a request: self-contained HTML (no script, no
 * external asset, no form), every piece of text HTML-escaped, and a Content-Security-Policy that
 * allows nothing but the one inline style block, by hash.
 */
import { createHash } from 'node:crypto';

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}' +
  'main{max-width:36rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:8px;' +
  'box-shadow:0 1px 4px rgba(0,0,0,.12)}h1{font-size:1.4rem;margin:0 0 1rem}' +
  'ul{padding-left:1.2rem}.rid{color:#5b6270;font-size:.9rem}code{font-size:.9rem}';

const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/** The CSP of every page the proxy writes itself. */
export const PAGE_CSP =
  `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; img-src 'none'; ` +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Headers sent with every page and JSON body the proxy writes itself. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
});

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

export interface PageContent {
  readonly title: string;
  /** plain text paragraphs (escaped here) */
  readonly paragraphs: readonly string[];
  /** plain text list items (escaped here), e.g. the reasons of a denial */
  readonly items?: readonly string[];
  readonly requestId: string;
}

export function renderPage(page: PageContent): string {
  const items =
    page.items && page.items.length > 0
      ? `<ul>${page.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`
      : '';
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width,initial-scale=1">' +
    `<meta name="referrer" content="no-referrer"><title>${escapeHtml(page.title)}</title>` +
    `<style>${STYLE}</style></head><body><main><h1>${escapeHtml(page.title)}</h1>` +
    page.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('') +
    items +
    `<p class="rid">Request ID: <code>${escapeHtml(page.requestId)}</code></p>` +
    '</main></body></html>\n'
  );
}
