/**
 * API tokens: the list (never the secrets), a new token (shown once, here, with a copy button)
 * and revocation. A token can hold only scopes its creator holds; the API says so when not.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { enc, get, post, type Me } from '../api';
import { Action, Empty, Loading, Problem, Table, Time, useData } from '../ui';

interface Token {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly created_by: string;
  readonly created_at: string;
  readonly expires_at: string;
  readonly status: 'active' | 'expired' | 'revoked';
}

/** Scopes by resource, in the API's order: `users:read`, `users:write` -> users: [read, write]. */
function byResource(scopes: readonly string[]): [string, string[]][] {
  const out = new Map<string, string[]>();
  for (const s of scopes) {
    const [resource = s, access = ''] = s.split(':');
    out.set(resource, [...(out.get(resource) ?? []), access]);
  }
  return [...out];
}

export function Tokens(): JSX.Element {
  const tokens = useData(() => get<{ tokens: Token[] }>('/tokens'), []);
  return (
    <section>
      <h1>API tokens</h1>
      <NewToken done={tokens.reload} />
      <h2>Tokens</h2>
      <Loading when={tokens.loading && !tokens.data} />
      <Problem error={tokens.error} />
      {tokens.data && tokens.data.tokens.length === 0 ? <Empty>No tokens.</Empty> : null}
      {tokens.data && tokens.data.tokens.length > 0 ? (
        <Table columns={['Name', 'Scopes', 'Created by', 'Created', 'Expires', 'State']} actions>
          {tokens.data.tokens.map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td class="what">{t.scopes.join(', ')}</td>
              <td>
                <code>{t.created_by}</code>
              </td>
              <td>
                <Time at={t.created_at} />
              </td>
              <td>
                <Time at={t.expires_at} />
              </td>
              <td>{t.status}</td>
              <td>
                {t.status === 'active' ? (
                  <Action
                    label={`Revoke ${t.name}`}
                    danger
                    run={() => post(`/tokens/${enc(t.id)}/revoke`)}
                    done={tokens.reload}
                  />
                ) : null}
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
    </section>
  );
}

function NewToken(props: { readonly done: () => void }): JSX.Element {
  // the scopes a new token may have are those the caller holds (`/me`): the API's own list
  const me = useData(() => get<Me>('/me'), []);
  const [name, setName] = useState('');
  const [ttl, setTtl] = useState('30d');
  const [scopes, setScopes] = useState<ReadonlySet<string>>(new Set());
  const [error, setError] = useState<unknown>(undefined);
  const [secret, setSecret] = useState<{ name: string; token: string } | undefined>(undefined);
  const [copied, setCopied] = useState('');
  const toggle = (scope: string, on: boolean): void => {
    const next = new Set(scopes);
    if (on) next.add(scope);
    else next.delete(scope);
    setScopes(next);
  };
  const submit = (e: Event): void => {
    e.preventDefault();
    setError(undefined);
    setSecret(undefined);
    setCopied('');
    post<Token & { token: string }>('/tokens', {
      name: name.trim(),
      scopes: [...scopes],
      ttl,
    }).then(
      (t) => {
        setSecret({ name: t.name, token: t.token });
        setName('');
        setScopes(new Set());
        props.done();
      },
      (err: unknown) => setError(err),
    );
  };
  const copy = (): void => {
    if (!secret) return;
    navigator.clipboard.writeText(secret.token).then(
      () => setCopied('Copied.'),
      () => setCopied('Could not copy: select the token and copy it yourself.'),
    );
  };
  return (
    <details class="card" open={secret !== undefined ? true : undefined}>
      <summary>New token</summary>
      <form onSubmit={submit}>
        <div class="inline-fields">
          <label>
            Name
            <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <label>
            Lifetime
            <select value={ttl} onChange={(e) => setTtl(e.currentTarget.value)}>
              <option value="1h">1 hour</option>
              <option value="1d">1 day</option>
              <option value="7d">7 days</option>
              <option value="30d">30 days</option>
              <option value="90d">90 days</option>
              <option value="366d">366 days</option>
            </select>
          </label>
        </div>
        <fieldset class="scopes">
          <legend>Scopes (write includes read)</legend>
          {byResource(me.data?.scopes ?? []).map(([r, accesses]) => (
            <span key={r} class="scope">
              <span class="scope-name">{r}</span>
              {accesses.map((a) => {
                const s = `${r}:${a}`;
                return (
                  <label key={s} class="check">
                    <input
                      type="checkbox"
                      checked={scopes.has(s)}
                      aria-label={s}
                      onChange={(e) => toggle(s, e.currentTarget.checked)}
                    />
                    {a}
                  </label>
                );
              })}
            </span>
          ))}
        </fieldset>
        <p>
          <button type="submit" class="primary" disabled={scopes.size === 0}>
            Create token
          </button>
        </p>
      </form>
      <Problem error={error} />
      {secret ? (
        <div class="secret" role="status">
          <p>
            The token <strong>{secret.name}</strong>: copy it now, it is not shown again (ztgate
            keeps only its hash).
          </p>
          <p>
            <code class="big token">{secret.token}</code>
          </p>
          <p>
            <button type="button" onClick={copy}>
              Copy
            </button>{' '}
            <span class="ok">{copied}</span>
          </p>
        </div>
      ) : null}
    </details>
  );
}
