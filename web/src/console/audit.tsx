/**
 * The audit log: filters, pages of records (newest first) and a live tail that polls for records
 * after the newest one shown. Every field is text from the log, much of it from clients (paths,
 * emails, host names): shown as text, never as markup.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { enc, get, query } from '../api';
import { navigate, useLocation } from '../router';
import { Decision, Loading, Problem, Time } from '../ui';

export interface AuditRecord {
  seq: number;
  id: string;
  time: string;
  kind: string;
  request_id?: string;
  actor?: { user?: string; email?: string; device?: string; service?: string };
  route?: string;
  method?: string;
  path?: string;
  decision?: string;
  action?: string;
  outcome?: string;
  resource?: string;
  reasons?: { code: string }[];
}

const KINDS = ['', 'access', 'login', 'logout', 'mfa', 'session', 'device', 'certificate', 'admin'];
const DECISIONS = ['', 'allow', 'deny', 'login', 'step_up'];
const POLL_MS = 2000;

export function Audit(): JSX.Element {
  const { search } = useLocation();
  const filters = {
    kind: search.get('kind') ?? '',
    decision: search.get('decision') ?? '',
    user_id: search.get('user_id') ?? '',
    route: search.get('route') ?? '',
  };
  const key = JSON.stringify(filters);
  const [records, setRecords] = useState<AuditRecord[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [live, setLive] = useState(false);
  const [form, setForm] = useState(filters);
  const newest = useRef(0);

  useEffect(() => {
    setForm(filters);
    setLoading(true);
    setError(undefined);
    get<{ records: AuditRecord[]; next_cursor: string | null }>(
      `/audit/records${query({ ...filters, limit: 100 })}`,
    ).then(
      (r) => {
        setRecords(r.records);
        setCursor(r.next_cursor);
        newest.current = r.records[0]?.seq ?? 0;
        setLoading(false);
      },
      (e: unknown) => {
        setError(e);
        setLoading(false);
      },
    );
  }, [key]);

  // the live tail: ask for what came after the newest record shown
  useEffect(() => {
    if (!live) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = (): void => {
      get<{ records: AuditRecord[]; last_seq: number }>(
        `/audit/tail${query({ ...filters, after: newest.current, limit: 200 })}`,
      ).then(
        (r) => {
          if (stopped) return;
          newest.current = Math.max(newest.current, r.last_seq);
          if (r.records.length > 0)
            setRecords((old) => [...[...r.records].reverse(), ...old].slice(0, 1000));
          timer = setTimeout(poll, POLL_MS);
        },
        (e: unknown) => {
          if (stopped) return;
          setError(e);
          setLive(false);
        },
      );
    };
    poll();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [live, key]);

  const older = (): void => {
    if (!cursor) return;
    get<{ records: AuditRecord[]; next_cursor: string | null }>(
      `/audit/records${query({ ...filters, limit: 100, cursor })}`,
    ).then(
      (r) => {
        setRecords((old) => [...old, ...r.records]);
        setCursor(r.next_cursor);
      },
      (e: unknown) => setError(e),
    );
  };

  return (
    <section>
      <h1>Audit log</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(`/console/audit${query(form)}`);
        }}
      >
        <label>
          Kind{' '}
          <select
            value={form.kind}
            onChange={(e) => setForm({ ...form, kind: e.currentTarget.value })}
          >
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k === '' ? 'any' : k}
              </option>
            ))}
          </select>
        </label>
        <label>
          Decision{' '}
          <select
            value={form.decision}
            onChange={(e) => setForm({ ...form, decision: e.currentTarget.value })}
          >
            {DECISIONS.map((k) => (
              <option key={k} value={k}>
                {k === '' ? 'any' : k}
              </option>
            ))}
          </select>
        </label>
        <label>
          User id{' '}
          <input
            value={form.user_id}
            onInput={(e) => setForm({ ...form, user_id: e.currentTarget.value })}
          />
        </label>
        <label>
          Route{' '}
          <input
            value={form.route}
            placeholder="https://app.example.com"
            onInput={(e) => setForm({ ...form, route: e.currentTarget.value })}
          />
        </label>
        <button type="submit">Filter</button>
        <label class="check">
          <input
            type="checkbox"
            checked={live}
            onChange={(e) => setLive(e.currentTarget.checked)}
          />{' '}
          Live tail
        </label>
      </form>
      <Problem error={error} />
      <Loading when={loading} />
      <div class="scroll">
        <table class="records">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Kind</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Outcome</th>
              <th scope="col">Request</th>
            </tr>
          </thead>
          <tbody aria-live={live ? 'polite' : 'off'}>
            {records.map((r) => (
              <tr key={r.id}>
                <td>
                  <Time at={r.time} />
                </td>
                <td>{r.kind}</td>
                <td>{r.actor?.email ?? r.actor?.user ?? r.actor?.service ?? '—'}</td>
                <td class="what">
                  {r.kind === 'access' ? (
                    <code>
                      {r.method} {r.route}
                      {r.path}
                    </code>
                  ) : (
                    <>
                      {r.action} {r.resource ? <code>{r.resource}</code> : null}
                    </>
                  )}
                </td>
                <td>
                  {r.decision ? <Decision value={r.decision} /> : r.outcome}{' '}
                  {r.reasons?.[0] ? <span class="muted">{r.reasons[0].code}</span> : null}
                </td>
                <td>
                  {r.request_id && r.kind === 'access' ? (
                    <a href={`/console/requests/${enc(r.request_id)}`}>explain</a>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {cursor ? (
        <button type="button" onClick={older}>
          Older records
        </button>
      ) : null}
    </section>
  );
}
