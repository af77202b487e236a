/**
 * The sign-in pages' only assets, served by ztgate itself under `<mount>/assets/` with a content
 * hash in the name (cached for a year, immutable). No fonts, images or scripts from anywhere else;
 * the pages' Content-Security-Policy allows scripts and styles from 'self' only, never inline.
 *
 * webauthn.js drives passkey sign-in and registration: buttons carry `data-webauthn`
 * (`authenticate` or `register`), `data-options` and `data-verify` URLs. It converts between the
 * JSON the server speaks (base64url) and the browser's WebAuthn API, and follows `next` on success.
 */
import { createHash } from 'node:crypto';

export const CSS = `:root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--fg:#1b1d21;--muted:#5b6270;--line:#d5d9e0;--accent:#1f5fd1;--accent-fg:#fff;--err:#b3261e;--err-bg:#fdecea;--ok-bg:#e8f3ec}
@media (prefers-color-scheme:dark){:root{--bg:#121418;--card:#1c1f25;--fg:#e8eaee;--muted:#a3a9b5;--line:#343a45;--accent:#6f9cff;--accent-fg:#0b0d10;--err:#ffb4ab;--err-bg:#3b1a18;--ok-bg:#16301f}}
*{box-sizing:border-box}
html{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;background:var(--bg);color:var(--fg)}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:1rem}
main{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:2rem;width:100%;max-width:26rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.brand{font-weight:700;letter-spacing:.02em;color:var(--muted);margin:0 0 1rem;font-size:.9rem}
h1{font-size:1.4rem;margin:0 0 .5rem}
p{margin:.5rem 0}
.muted{color:var(--muted);font-size:.92rem}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input{width:100%;font:inherit;padding:.6rem .7rem;border:1px solid var(--line);border-radius:8px;background:var(--card);color:var(--fg)}
input:focus,button:focus,a:focus{outline:3px solid var(--accent);outline-offset:2px}
input[inputmode=numeric]{letter-spacing:.3em;font-variant-numeric:tabular-nums}
button{display:block;width:100%;margin-top:1.25rem;font:inherit;font-weight:600;padding:.65rem;border-radius:8px;border:1px solid var(--accent);background:var(--accent);color:var(--accent-fg);cursor:pointer}
button.secondary{background:transparent;color:var(--accent)}
button.link{border:0;background:none;color:var(--accent);width:auto;padding:0;margin:1rem 0 0;font-weight:500;text-decoration:underline}
.or{display:flex;align-items:center;gap:.75rem;color:var(--muted);margin:1.25rem 0 0;font-size:.9rem}
.or::before,.or::after{content:"";flex:1;border-top:1px solid var(--line)}
.error{background:var(--err-bg);color:var(--err);border-radius:8px;padding:.6rem .8rem;margin:1rem 0 0}
.notice{background:var(--ok-bg);border-radius:8px;padding:.6rem .8rem;margin:1rem 0 0}
code,.secret{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
.secret{display:block;padding:.6rem;border:1px dashed var(--line);border-radius:8px;margin:.5rem 0;user-select:all}
ol.codes{columns:2;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;padding-left:1.5rem}
.status:empty{display:none}
footer{margin-top:1.5rem}
`;

export const WEBAUTHN_JS = `'use strict';
(function () {
  function b64urlToBuf(s) {
    var pad = '='.repeat((4 - (s.length % 4)) % 4);
    var bin = atob((s + pad).replace(/-/g, '+').replace(/_/g, '/'));
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  }
  function status(text) {
    var el = document.getElementById('status');
    if (el) el.textContent = text;
  }
  async function post(url, body) {
    var res = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body || {}),
    });
    var data = {};
    try { data = await res.json(); } catch (e) { data = {}; }
    if (!res.ok) throw new Error(data.message || 'The request failed.');
    return data;
  }
  async function authenticate(btn) {
    var o = await post(btn.dataset.options);
    var publicKey = {
      challenge: b64urlToBuf(o.challenge),
      timeout: o.timeout,
      rpId: o.rpId,
      userVerification: o.userVerification,
      allowCredentials: (o.allowCredentials || []).map(function (c) {
        return { type: 'public-key', id: b64urlToBuf(c.id), transports: c.transports };
      }),
    };
    var cred = await navigator.credentials.get({ publicKey: publicKey });
    var r = cred.response;
    return post(btn.dataset.verify, {
      id: cred.id,
      rawId: bufToB64url(cred.rawId),
      type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults(),
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      response: {
        clientDataJSON: bufToB64url(r.clientDataJSON),
        authenticatorData: bufToB64url(r.authenticatorData),
        signature: bufToB64url(r.signature),
        userHandle: r.userHandle ? bufToB64url(r.userHandle) : undefined,
      },
    });
  }
  async function register(btn) {
    var o = await post(btn.dataset.options);
    var publicKey = {
      challenge: b64urlToBuf(o.challenge),
      rp: o.rp,
      user: { id: b64urlToBuf(o.user.id), name: o.user.name, displayName: o.user.displayName },
      pubKeyCredParams: o.pubKeyCredParams,
      timeout: o.timeout,
      attestation: o.attestation,
      authenticatorSelection: o.authenticatorSelection,
      excludeCredentials: (o.excludeCredentials || []).map(function (c) {
        return { type: 'public-key', id: b64urlToBuf(c.id), transports: c.transports };
      }),
    };
    var cred = await navigator.credentials.create({ publicKey: publicKey });
    var r = cred.response;
    return post(btn.dataset.verify, {
      id: cred.id,
      rawId: bufToB64url(cred.rawId),
      type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults(),
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      response: {
        clientDataJSON: bufToB64url(r.clientDataJSON),
        attestationObject: bufToB64url(r.attestationObject),
        transports: typeof r.getTransports === 'function' ? r.getTransports() : [],
      },
    });
  }
  document.querySelectorAll('[data-webauthn]').forEach(function (btn) {
    if (!window.PublicKeyCredential) {
      btn.disabled = true;
      status('This browser does not support passkeys.');
      return;
    }
    btn.addEventListener('click', async function () {
      btn.disabled = true;
      status(btn.dataset.webauthn === 'register' ? 'Follow your browser to create the passkey…' : 'Follow your browser to use your passkey…');
      try {
        var out = btn.dataset.webauthn === 'register' ? await register(btn) : await authenticate(btn);
        status('Done.');
        window.location.assign(out.next);
      } catch (e) {
        status(e && e.name === 'NotAllowedError' ? 'The passkey request was cancelled or timed out.' : (e && e.message) || 'Something went wrong.');
        btn.disabled = false;
      }
    });
  });
})();
`;

export const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1f5fd1"/><path d="M9 10h14l-14 12h14" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/></svg>`;

const TYPES: Readonly<Record<string, string>> = {
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  svg: 'image/svg+xml',
};

function hashed(
  name: string,
  ext: string,
  body: string,
): { path: string; body: string; type: string } {
  const digest = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { path: `${name}-${digest}.${ext}`, body, type: TYPES[ext] ?? 'application/octet-stream' };
}

export const ASSETS = {
  css: hashed('ztgate', 'css', CSS),
  webauthn: hashed('webauthn', 'js', WEBAUTHN_JS),
  icon: hashed('icon', 'svg', ICON_SVG),
} as const;
