/**
 * The built-in IdP's pages: sign-in, second factor, enrolment, recovery codes, sign-out and errors.
 * Plain HTML5 with labels, landmarks and live regions; one stylesheet and (for passkeys) one script,
 * both served by ztgate. Every value written into a page is escaped.
 */
import { renderSVG } from 'uqr';
import { ASSETS } from './assets.js';

export function esc(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface PageContext {
  /** `/oidc` */
  readonly mount: string;
}

function layout(
  ctx: PageContext,
  title: string,
  body: string,
  options: { script?: boolean } = {},
): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<link rel="icon" href="${esc(`${ctx.mount}/assets/${ASSETS.icon.path}`)}">
<title>${esc(title)} · ztgate</title>
<link rel="stylesheet" href="${esc(`${ctx.mount}/assets/${ASSETS.css.path}`)}">
${options.script ? `<script src="${esc(`${ctx.mount}/assets/${ASSETS.webauthn.path}`)}" defer></script>\n` : ''}</head>
<body>
<main aria-labelledby="title">
<p class="brand">ztgate</p>
${body}
</main>
</body>
</html>
`;
}

/** An error for the user; `code` (a `ZT_IDENTITY_*` code) is there for tools and tests. */
function alert(error: string | undefined, code?: string): string {
  if (!error) return '';
  return `<p class="error" role="alert" id="error"${code ? ` data-code="${esc(code)}"` : ''}>${esc(error)}</p>`;
}

function statusRegion(): string {
  return '<p class="status muted" id="status" role="status" aria-live="polite"></p>';
}

function abortForm(ctx: PageContext, uid: string, label = 'Cancel sign-in'): string {
  return `<footer><form method="post" action="${esc(`${ctx.mount}/interaction/${uid}/abort`)}"><button type="submit" class="link">${esc(label)}</button></form></footer>`;
}

function base(ctx: PageContext, uid: string): string {
  return `${ctx.mount}/interaction/${uid}`;
}

export function loginPage(
  ctx: PageContext,
  p: {
    uid: string;
    email?: string;
    error?: string;
    code?: string;
    notice?: string;
    client?: string;
  },
): string {
  const b = base(ctx, p.uid);
  return layout(
    ctx,
    'Sign in',
    `<h1 id="title">Sign in</h1>
${p.client ? `<p class="muted">to continue to ${esc(p.client)}</p>` : ''}
${alert(p.error, p.code)}${p.notice ? `<p class="notice" role="status">${esc(p.notice)}</p>` : ''}
<form method="post" action="${esc(`${b}/password`)}" novalidate>
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username webauthn" required autofocus value="${esc(p.email ?? '')}"${p.error ? ' aria-describedby="error"' : ''}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<p class="or">or</p>
<button type="button" class="secondary" data-webauthn="authenticate" data-options="${esc(`${b}/webauthn/options`)}" data-verify="${esc(`${b}/webauthn/verify`)}">Sign in with a passkey</button>
<noscript><p class="muted">Passkeys need JavaScript.</p></noscript>
${statusRegion()}
${abortForm(ctx, p.uid)}`,
    { script: true },
  );
}

export function totpPage(
  ctx: PageContext,
  p: { uid: string; error?: string; code?: string; passkeyToo: boolean; who: string },
): string {
  const b = base(ctx, p.uid);
  return layout(
    ctx,
    'Verification code',
    `<h1 id="title">Enter your verification code</h1>
<p class="muted">Signing in as ${esc(p.who)}. Open your authenticator app and enter the 6-digit code, or one of your recovery codes.</p>
${alert(p.error, p.code)}
<form method="post" action="${esc(`${b}/totp`)}" novalidate>
<label for="code">Code</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required autofocus maxlength="24"${p.error ? ' aria-describedby="error"' : ''}>
<button type="submit">Verify</button>
</form>
${
  p.passkeyToo
    ? `<p class="or">or</p>
<button type="button" class="secondary" data-webauthn="authenticate" data-options="${esc(`${b}/webauthn/options`)}" data-verify="${esc(`${b}/webauthn/verify`)}">Use a passkey</button>
${statusRegion()}`
    : ''
}
${abortForm(ctx, p.uid)}`,
    { script: p.passkeyToo },
  );
}

export function passkeyPage(
  ctx: PageContext,
  p: { uid: string; error?: string; who: string; reason: string },
): string {
  const b = base(ctx, p.uid);
  return layout(
    ctx,
    'Use your passkey',
    `<h1 id="title">Use your passkey</h1>
<p class="muted">Signing in as ${esc(p.who)}. ${esc(p.reason)}</p>
${alert(p.error)}
<button type="button" data-webauthn="authenticate" data-options="${esc(`${b}/webauthn/options`)}" data-verify="${esc(`${b}/webauthn/verify`)}" autofocus>Use passkey</button>
<noscript><p class="muted">Passkeys need JavaScript.</p></noscript>
${statusRegion()}
${abortForm(ctx, p.uid)}`,
    { script: true },
  );
}

export function enrolChoicePage(
  ctx: PageContext,
  p: { uid: string; passkeyOnly: boolean; who: string; error?: string },
): string {
  const b = base(ctx, p.uid);
  return layout(
    ctx,
    'Set up a second factor',
    `<h1 id="title">Set up ${p.passkeyOnly ? 'a passkey' : 'two-step verification'}</h1>
<p class="muted">${esc(p.who)}: ${
      p.passkeyOnly
        ? 'this app needs a phishing-resistant passkey. Create one on this device or a security key.'
        : 'this app needs a second factor. Create a passkey (recommended) or use an authenticator app.'
    }</p>
${alert(p.error)}
<button type="button" data-webauthn="register" data-options="${esc(`${b}/enrol/webauthn/options`)}" data-verify="${esc(`${b}/enrol/webauthn/verify`)}">Create a passkey</button>
${
  p.passkeyOnly
    ? ''
    : `<form method="post" action="${esc(`${b}/enrol/totp`)}"><button type="submit" class="secondary">Use an authenticator app</button></form>`
}
${statusRegion()}
${abortForm(ctx, p.uid)}`,
    { script: true },
  );
}

/**
 * The otpauth URI as an inline SVG QR code, drawn on the server: no script, no image request,
 * nothing the page's CSP has to allow. The URI is ztgate's own (issuer, account, secret).
 */
function totpQrSvg(uri: string): string {
  return renderSVG(uri, { border: 2, pixelSize: 6 }).replace(
    '<svg ',
    '<svg role="img" width="222" height="222" ',
  );
}

export function totpEnrolPage(
  ctx: PageContext,
  p: { uid: string; secret: string; uri: string; error?: string },
): string {
  const b = base(ctx, p.uid);
  const grouped = p.secret.replace(/(.{4})/g, '$1 ').trim();
  return layout(
    ctx,
    'Set up your authenticator app',
    `<h1 id="title">Set up your authenticator app</h1>
<p>Scan this code with your authenticator app, or add an account with the key below (time-based, 6 digits):</p>
<figure class="qr" aria-label="QR code of the authenticator key">${totpQrSvg(p.uri)}</figure>
<code class="secret" id="secret" aria-label="secret key">${esc(grouped)}</code>
<p class="muted">Or open this link on the device with the app: <a href="${esc(p.uri)}">otpauth link</a></p>
${alert(p.error)}
<form method="post" action="${esc(`${b}/enrol/totp/confirm`)}" novalidate>
<label for="code">Enter the code the app shows</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required autofocus maxlength="8">
<button type="submit">Confirm</button>
</form>
${abortForm(ctx, p.uid)}`,
  );
}

export function recoveryCodesPage(
  ctx: PageContext,
  p: { uid: string; codes: readonly string[] },
): string {
  const b = base(ctx, p.uid);
  return layout(
    ctx,
    'Recovery codes',
    `<h1 id="title">Save your recovery codes</h1>
<p>Each code signs you in once if you lose your authenticator. Store them somewhere safe: they are not shown again.</p>
<ol class="codes" id="recovery-codes">${p.codes.map((c) => `<li>${esc(c)}</li>`).join('')}</ol>
<form method="post" action="${esc(`${b}/continue`)}"><button type="submit">I have saved them, continue</button></form>`,
  );
}

export function messagePage(
  ctx: PageContext,
  p: { title: string; message: string; requestId?: string },
): string {
  return layout(
    ctx,
    p.title,
    `<h1 id="title">${esc(p.title)}</h1>
<p>${esc(p.message)}</p>${p.requestId ? `\n<p class="muted">Request id: <code>${esc(p.requestId)}</code></p>` : ''}`,
  );
}

export function logoutPage(ctx: PageContext, p: { form: string; host: string }): string {
  // `form` comes from oidc-provider: a form with its hidden anti-forgery field and no script.
  return layout(
    ctx,
    'Sign out',
    `<h1 id="title">Sign out of ztgate?</h1>
<p class="muted">You will be signed out of ${esc(p.host)} and the apps you used through it.</p>
${p.form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Sign out</button>
<button type="submit" form="op.logoutForm" class="secondary">Stay signed in</button>`,
  );
}
