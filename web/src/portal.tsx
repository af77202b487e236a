/**
 * The user portal under `/portal/`: my apps, my sessions (sign out one or all), my devices (enroll,
 * remove) and "why was I denied?". Any signed-in user; it reads and changes only their own records
 * (the API's `/me/...` endpoints enforce that, not this page).
 */
import { render, type JSX } from 'preact';
import { useState } from 'preact/hooks';
import {
  enc,
  get,
  post,
  signIn,
  type Explanation,
  type Me,
  type Reason,
  type Session,
} from './api';
import { ExplanationView } from './console/request';
import { match, navigate, useLocation } from './router';
import { Action, Empty, Loading, Problem, Shell, Time, safeHref, useData } from './ui';

const NAV = [
  { href: '/portal/', label: 'My apps' },
  { href: '/portal/sessions', label: 'My sessions' },
  { href: '/portal/devices', label: 'My devices' },
  { href: '/portal/why', label: 'Why was I denied?' },
];

interface App {
  url: string;
  access: 'allowed' | 'step_up' | 'denied';
  reasons: Reason[];
}

function Apps(): JSX.Element {
  const apps = useData(() => get<{ apps: App[] }>('/me/apps'), []);
  const list = apps.data?.apps ?? [];
  const open = list.filter((a) => a.access !== 'denied');
  const closed = list.filter((a) => a.access === 'denied');
  return (
    <section>
      <h1>My apps</h1>
      <Loading when={apps.loading && !apps.data} />
      <Problem error={apps.error} />
      {apps.data && open.length === 0 ? <Empty>No app lets you in right now.</Empty> : null}
      <ul class="apps">
        {open.map((a) => {
          const href = safeHref(a.url);
          return (
            <li key={a.url}>
              {href ? <a href={href}>{a.url}</a> : <span>{a.url}</span>}
              {a.access === 'step_up' ? (
                <span class="muted"> — asks for your second factor</span>
              ) : null}
            </li>
          );
        })}
      </ul>
      {closed.length > 0 ? (
        <details>
          <summary>Apps you cannot open now ({closed.length})</summary>
          <ul class="plain">
            {closed.map((a) => (
              <li key={a.url}>
                {a.url}: <span class="muted">{a.reasons.map((r) => r.message).join('; ')}</span>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </section>
  );
}

function Sessions(): JSX.Element {
  const list = useData(() => get<{ sessions: Session[] }>('/me/sessions'), []);
  return (
    <section>
      <h1>My sessions</h1>
      <Loading when={list.loading && !list.data} />
      <Problem error={list.error} />
      {list.data ? (
        <>
          <ul class="cards">
            {list.data.sessions.map((s) => (
              <li key={s.id} class="card">
                <p>
                  <strong>Session {s.ref}</strong>{' '}
                  {s.current ? <span class="badge">this browser</span> : null}
                </p>
                <p class="muted">
                  Started <Time at={s.created_at} />, last used <Time at={s.last_seen_at} />
                  {s.device_id ? `, device ${s.device_id}` : ''}
                </p>
                {s.current ? null : (
                  <Action
                    label="Sign out this session"
                    run={() => post(`/me/sessions/${enc(s.id)}/revoke`)}
                    done={list.reload}
                  />
                )}
              </li>
            ))}
          </ul>
          <Action
            label="Sign out everywhere"
            danger
            run={() => post('/me/sessions/revoke')}
            done={() => signIn()}
          />
        </>
      ) : null}
    </section>
  );
}

interface Device {
  id: string;
  hostname: string;
  os: string;
  state: string;
  enrolled_at: string;
  last_report_at: string | null;
  managed: boolean;
  tier: string | null;
  current: boolean;
}

function Devices(): JSX.Element {
  const list = useData(() => get<{ devices: Device[] }>('/me/devices'), []);
  const [code, setCode] = useState<{ code: string; expires_at: string } | undefined>(undefined);
  return (
    <section>
      <h1>My devices</h1>
      <Loading when={list.loading && !list.data} />
      <Problem error={list.error} />
      {list.data && list.data.devices.length === 0 ? (
        <Empty>You have no enrolled devices.</Empty>
      ) : null}
      <ul class="cards">
        {(list.data?.devices ?? []).map((d) => (
          <li key={d.id} class="card">
            <p>
              <strong>{d.hostname}</strong> <span class="muted">{d.os}</span>{' '}
              {d.current ? <span class="badge">this session</span> : null}
            </p>
            <p class="muted">
              {d.state}
              {d.managed ? ', managed' : ''}
              {d.tier ? `, tier ${d.tier}` : ''}; enrolled <Time at={d.enrolled_at} />
            </p>
            {d.state !== 'revoked' ? (
              <Action
                label={`Remove ${d.hostname}`}
                danger
                run={() => post(`/me/devices/${enc(d.id)}/remove`)}
                done={list.reload}
              />
            ) : null}
          </li>
        ))}
      </ul>
      <h2>Enroll a device</h2>
      <p>Get a one-time code, then run the agent on the device within 10 minutes.</p>
      <Action
        label="Get an enrollment code"
        run={() =>
          post<{ code: string; expires_at: string }>('/me/enrollment-code').then((c) => setCode(c))
        }
      />
      {code ? (
        <div class="card" role="status">
          <p>
            Your code: <code class="big">{code.code}</code> (valid until{' '}
            <Time at={code.expires_at} />)
          </p>
          <pre>
            <code>{`ztgate agent enroll --server ${location.origin} --code ${code.code}`}</code>
          </pre>
        </div>
      ) : null}
    </section>
  );
}

function Why(props: { readonly id: string }): JSX.Element {
  const [id, setId] = useState(props.id);
  const result = useData(
    () =>
      props.id === ''
        ? Promise.resolve(undefined)
        : get<Explanation>(`/me/denials/${enc(props.id)}`),
    [props.id],
  );
  return (
    <section>
      <h1>Why was I denied?</h1>
      <p>The page that refused you shows a request id. Paste it here.</p>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          if (id.trim() !== '') navigate(`/portal/why/${enc(id.trim())}`);
        }}
      >
        <label>
          Request id{' '}
          <input
            name="request_id"
            value={id}
            size={40}
            onInput={(e) => setId(e.currentTarget.value)}
          />
        </label>{' '}
        <button type="submit">Explain</button>
      </form>
      <Loading when={result.loading && props.id !== ''} />
      <Problem error={result.error} />
      {result.data ? <ExplanationView x={result.data} admin={false} /> : null}
    </section>
  );
}

function Page(props: { readonly path: string }): JSX.Element {
  const p = props.path;
  let m: Record<string, string> | undefined;
  if (p === '/portal' || p === '/portal/') return <Apps />;
  if (match('/portal/sessions', p)) return <Sessions />;
  if (match('/portal/devices', p)) return <Devices />;
  if (match('/portal/why', p)) return <Why id="" />;
  if ((m = match('/portal/why/:id', p))) return <Why id={m.id ?? ''} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        <a href="/portal/">Back to my apps</a>
      </p>
    </section>
  );
}

function App(): JSX.Element {
  const { path } = useLocation();
  const me = useData(() => get<Me>('/me'), []);
  const u = me.data?.user;
  return (
    <Shell
      title="portal"
      nav={NAV}
      who={u?.email}
      other={me.data?.admin ? { href: '/console/', label: 'Admin console' } : undefined}
    >
      <Loading when={me.loading && !me.data} />
      <Problem error={me.error} />
      {me.data ? <Page path={path} /> : null}
    </Shell>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
