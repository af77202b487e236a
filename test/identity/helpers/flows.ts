/** Sign-in steps shared by the IdP and relying-party tests (no browser). */
import assert from 'node:assert/strict';
import { formAction, type AgentResponse, type TestAgent } from './servers.js';

export function unescapeHtml(s: string): string {
  return s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
}

export interface AppInfo {
  email: string;
  groups: string[];
  mfa: string[];
  amr: string[];
  acr: string | null;
}

/** The stand-in app's page: who it sees. */
export function appInfo(r: AgentResponse): AppInfo {
  const m = /<pre id="info">([^<]*)<\/pre>/.exec(r.body);
  assert.ok(m?.[1], `not the app page (${r.status} ${r.url}):\n${r.body.slice(0, 1500)}`);
  return JSON.parse(unescapeHtml(m[1])) as AppInfo;
}

/** Posts the sign-in form of the page `r`. */
export async function postPassword(
  agent: TestAgent,
  r: AgentResponse,
  email: string,
  password: string,
): Promise<AgentResponse> {
  const action = formAction(r.body, '/password');
  return agent.request(new URL(unescapeHtml(action), r.url).href, { form: { email, password } });
}

export async function postCode(
  agent: TestAgent,
  r: AgentResponse,
  code: string,
  path = '/totp',
): Promise<AgentResponse> {
  const action = formAction(r.body, path);
  return agent.request(new URL(unescapeHtml(action), r.url).href, { form: { code } });
}

export async function postForm(
  agent: TestAgent,
  r: AgentResponse,
  path: string,
  form: Record<string, string> = {},
): Promise<AgentResponse> {
  const action = formAction(r.body, path);
  return agent.request(new URL(unescapeHtml(action), r.url).href, { form });
}

export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<string, unknown>,
  };
}
