/**
 * Routes and policies: the list, and an editor for one policy in YAML with validation as you type
 * (syntax in the browser, then the server's full check: schema, semantics, compiler) and the
 * what-if simulator, which replays recent real requests against the draft.
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { stringify } from 'yaml';
import { ApiError, enc, get, post, request, type ConfigProblem, type Replayed } from '../api';
import { navigate } from '../router';
import { Decision, Loading, Problem, Table, Time, useData } from '../ui';
import { parseYaml, pointerPath, ProblemList, useLiveCheck } from './yaml-editor';

interface ConfigData {
  version: number;
  routes: { from: string; to: string; policy: unknown; mode?: string }[];
  policies: Record<string, unknown>;
}

export function Policies(): JSX.Element {
  const cfg = useData(() => get<ConfigData>('/config'), []);
  const [name, setName] = useState('');
  const d = cfg.data;
  return (
    <section>
      <h1>Routes and policies</h1>
      <Loading when={cfg.loading && !d} />
      <Problem error={cfg.error} />
      {d ? (
        <>
          <p class="muted">Version {d.version} is in force.</p>
          <h2>Policies</h2>
          <ul class="plain">
            {Object.keys(d.policies).map((n) => (
              <li key={n}>
                <a href={`/console/policies/${enc(n)}`}>{n}</a>
              </li>
            ))}
          </ul>
          <form
            class="inline"
            onSubmit={(e) => {
              e.preventDefault();
              if (name.trim() !== '') navigate(`/console/policies/${enc(name.trim())}`);
            }}
          >
            <label>
              New policy named{' '}
              <input value={name} onInput={(e) => setName(e.currentTarget.value)} />
            </label>{' '}
            <button type="submit">Create</button>
          </form>
          <h2>Routes</h2>
          <p>
            <a href="/console/routes">Edit the routes</a> (with versions and rollback)
          </p>
          <Table columns={['From', 'To', 'Policy', 'Mode']}>
            {d.routes.map((r) => (
              <tr key={r.from}>
                <td>{r.from}</td>
                <td>{r.to}</td>
                <td>
                  {typeof r.policy === 'string' ? (
                    <a href={`/console/policies/${enc(r.policy)}`}>{r.policy}</a>
                  ) : (
                    <span class="muted">inline</span>
                  )}
                </td>
                <td>{r.mode ?? 'enforce'}</td>
              </tr>
            ))}
          </Table>
        </>
      ) : null}
    </section>
  );
}

interface Simulation {
  scanned: number;
  replayed: number;
  changed: number;
  newly_denied: number;
  newly_allowed: number;
  drift: number;
  from: string | null;
  until: string | null;
  truncated: boolean;
  requests: {
    request_id: string | null;
    time: string;
    email: string | null;
    user_id: string | null;
    route: string;
    method: string;
    path: string;
    before: Replayed;
    after: Replayed;
    approximations: string[];
  }[];
}

const TEMPLATE = `allow:
  - groups: [engineering]
    mfa: { max_age: 12h }
`;

export function PolicyEditor(props: { readonly name: string }): JSX.Element {
  const name = props.name;
  const [text, setText] = useState<string | undefined>(undefined);
  const [etag, setEtag] = useState<string | null>(null);
  const [isNew, setIsNew] = useState(false);
  const [loadError, setLoadError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState<string>('');
  const [saveError, setSaveError] = useState<unknown>(undefined);
  const [sim, setSim] = useState<Simulation | undefined>(undefined);
  const [simError, setSimError] = useState<unknown>(undefined);
  const [simBusy, setSimBusy] = useState(false);
  const [limit, setLimit] = useState(1000);
  const all = useData(() => get<{ policies: Record<string, unknown> }>('/policies'), []);

  useEffect(() => {
    request<{ policy: unknown }>('GET', `/policies/${enc(name)}`).then(
      (a) => {
        setText(stringify(a.body.policy));
        setEtag(a.etag);
      },
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 404) {
          setIsNew(true);
          setText(TEMPLATE);
        } else setLoadError(e);
      },
    );
  }, [name]);

  const parsed = useMemo(() => (text === undefined ? undefined : parseYaml(text)), [text]);

  // validation as you type: syntax at once, the server's check after a short pause
  const { problems, checking } = useLiveCheck(
    parsed,
    (policy) =>
      post<{ valid: boolean; problems: ConfigProblem[] }>('/policies/validate', {
        name,
        policy: policy ?? {},
      }),
    (pointer) => pointerPath(pointer, 'policies', 2),
    [name],
  );

  const errors = problems.filter((p) => p.severity === 'error').length;
  const draft = (): unknown => parsed?.value ?? {};

  const save = (): void => {
    setSaveError(undefined);
    setSaved('');
    request<{ version: number }>('PUT', `/policies/${enc(name)}`, draft(), {
      ...(etag ? { 'if-match': etag } : {}),
    }).then(
      (a) => {
        setEtag(a.etag);
        setIsNew(false);
        setSaved(`Saved as version ${a.body.version}.`);
        all.reload();
      },
      (e: unknown) => setSaveError(e),
    );
  };

  const simulate = (): void => {
    setSimBusy(true);
    setSimError(undefined);
    const policies = { ...(all.data?.policies ?? {}), [name]: draft() };
    post<Simulation>('/simulate', { policies, limit }).then(
      (r) => {
        setSimBusy(false);
        setSim(r);
      },
      (e: unknown) => {
        setSimBusy(false);
        setSimError(e);
      },
    );
  };

  return (
    <section>
      <p>
        <a href="/console/policies">← Routes and policies</a>
      </p>
      <h1>
        Policy <code>{name}</code> {isNew ? <span class="badge">new</span> : null}
      </h1>
      <Problem error={loadError} />
      {text === undefined ? (
        <Loading when={!loadError} />
      ) : (
        <div class="editor">
          <label for="policy-text">Policy (YAML)</label>
          <textarea
            id="policy-text"
            spellcheck={false}
            rows={14}
            value={text}
            aria-invalid={errors > 0}
            aria-describedby="policy-problems"
            onInput={(e) => {
              setText(e.currentTarget.value);
              setSaved('');
            }}
          />
          <ProblemList id="policy-problems" checking={checking} problems={problems} />
          <div class="buttons">
            <label>
              Replay the last{' '}
              <select
                value={String(limit)}
                onChange={(e) => setLimit(Number(e.currentTarget.value))}
              >
                <option value="100">100</option>
                <option value="1000">1,000</option>
                <option value="10000">10,000</option>
              </select>{' '}
              requests
            </label>{' '}
            <button type="button" onClick={simulate} disabled={errors > 0 || simBusy}>
              {simBusy ? 'Simulating…' : 'Simulate'}
            </button>{' '}
            <button type="button" class="primary" onClick={save} disabled={errors > 0}>
              Save
            </button>
            <span role="status" class="ok">
              {saved}
            </span>
          </div>
          <Problem error={saveError} />
          <Problem error={simError} />
          {sim ? <SimulationView sim={sim} /> : null}
        </div>
      )}
    </section>
  );
}

function SimulationView(props: { readonly sim: Simulation }): JSX.Element {
  const s = props.sim;
  return (
    <section class="simulation" aria-live="polite">
      <h2>What if</h2>
      <p class="answer">
        This change would have denied {s.newly_denied} and allowed {s.newly_allowed} of the last{' '}
        {s.replayed} requests ({s.changed} changed).
      </p>
      {s.from && s.until ? (
        <p class="muted">
          Requests from <Time at={s.from} /> to <Time at={s.until} />.{' '}
          {s.drift > 0
            ? `${s.drift} replays of the policy in force differ from what was recorded (groups, devices or sessions changed since): read the answer with that in mind.`
            : 'Replaying the policy in force gives the recorded decisions.'}
        </p>
      ) : null}
      {s.requests.length > 0 ? (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">User</th>
                <th scope="col">Request</th>
                <th scope="col">Now</th>
                <th scope="col">With the change</th>
              </tr>
            </thead>
            <tbody>
              {s.requests.map((r, i) => (
                <tr key={r.request_id ?? i}>
                  <td>
                    {r.request_id ? (
                      <a href={`/console/requests/${enc(r.request_id)}`}>
                        <Time at={r.time} />
                      </a>
                    ) : (
                      <Time at={r.time} />
                    )}
                  </td>
                  <td>{r.email ?? r.user_id ?? 'anonymous'}</td>
                  <td>
                    <code>
                      {r.method} {r.route}
                      {r.path}
                    </code>
                  </td>
                  <td>
                    <Decision value={r.before.decision} />
                  </td>
                  <td>
                    <Decision value={r.after.decision} />{' '}
                    <span class="muted">{r.after.reasons[0]?.message}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {s.truncated ? <p class="muted">Only the first {s.requests.length} are shown.</p> : null}
        </div>
      ) : null}
    </section>
  );
}
