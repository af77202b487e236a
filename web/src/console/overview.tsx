/** Overview: decisions over time, deny reasons over time, top reasons, live sessions and devices. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { get, query } from '../api';
import { StackedBars } from '../chart';
import { Loading, Problem, useData } from '../ui';

interface Counts {
  allow: number;
  deny: number;
  login: number;
  step_up: number;
}

interface OverviewData {
  window_start: string;
  window_end: string;
  scanned: number;
  truncated: boolean;
  totals: Counts;
  buckets: (Counts & { start: string; deny_reasons: Record<string, number> })[];
  top_deny_reasons: { code: string; message: string; count: number }[];
  top_denied_routes: { route: string; count: number }[];
  sessions: { active: number; truncated: boolean };
  devices: { active: number; pending: number; revoked: number; stale: number; truncated: boolean };
}

const DECISIONS = [
  { key: 'allow', label: 'allowed', cls: 'c-allow' },
  { key: 'deny', label: 'denied', cls: 'c-deny' },
  { key: 'step_up', label: 'step-up', cls: 'c-step' },
  { key: 'login', label: 'sign-in needed', cls: 'c-login' },
];
const REASON_CLASSES = ['c-r0', 'c-r1', 'c-r2', 'c-r3', 'c-r4'];

export function Overview(): JSX.Element {
  const [span, setSpan] = useState('24h');
  const data = useData(
    () => get<OverviewData>(`/stats/overview${query({ window: span, buckets: 24 })}`),
    [span],
  );
  const d = data.data;
  return (
    <section>
      <div class="bar">
        <h1>Overview</h1>
        <label>
          Window{' '}
          <select value={span} onChange={(e) => setSpan(e.currentTarget.value)}>
            <option value="1h">last hour</option>
            <option value="24h">last 24 hours</option>
            <option value="7d">last 7 days</option>
          </select>
        </label>
      </div>
      <Loading when={data.loading && !d} />
      <Problem error={data.error} />
      {d ? (
        <>
          <dl class="stats">
            <div>
              <dt>Requests</dt>
              <dd>{d.totals.allow + d.totals.deny + d.totals.login + d.totals.step_up}</dd>
            </div>
            <div>
              <dt>Denied</dt>
              <dd>{d.totals.deny}</dd>
            </div>
            <div>
              <dt>Active sessions</dt>
              <dd>
                {d.sessions.active}
                {d.sessions.truncated ? '+' : ''}
              </dd>
            </div>
            <div>
              <dt>Active devices</dt>
              <dd>
                {d.devices.active}
                {d.devices.stale > 0 ? <small> ({d.devices.stale} stale)</small> : null}
              </dd>
            </div>
          </dl>
          {d.truncated ? (
            <p class="muted">Counted from the newest {d.scanned} requests of the window.</p>
          ) : null}
          <div class="charts">
            <StackedBars
              title="Requests by decision"
              series={DECISIONS}
              buckets={d.buckets.map((b) => ({
                start: b.start,
                values: { allow: b.allow, deny: b.deny, step_up: b.step_up, login: b.login },
              }))}
            />
            <StackedBars
              title="Refusals by reason"
              series={d.top_deny_reasons.map((r, i) => ({
                key: r.code,
                label: r.code,
                cls: REASON_CLASSES[i] ?? 'c-r4',
              }))}
              buckets={d.buckets.map((b) => ({ start: b.start, values: b.deny_reasons }))}
            />
          </div>
          <div class="cols">
            <section>
              <h2>Top reasons for refusals</h2>
              {d.top_deny_reasons.length === 0 ? (
                <p class="muted">No refusals in this window.</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Reason</th>
                      <th scope="col">Count</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.top_deny_reasons.map((r) => (
                      <tr key={r.code}>
                        <td>
                          <code>{r.code}</code> <span class="muted">{r.message}</span>
                        </td>
                        <td class="num">{r.count}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
            <section>
              <h2>Most refused apps</h2>
              {d.top_denied_routes.length === 0 ? (
                <p class="muted">None.</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Route</th>
                      <th scope="col">Refusals</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.top_denied_routes.map((r) => (
                      <tr key={r.route}>
                        <td>
                          <a href={`/console/audit${query({ route: r.route, decision: 'deny' })}`}>
                            {r.route}
                          </a>
                        </td>
                        <td class="num">{r.count}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          </div>
        </>
      ) : null}
    </section>
  );
}
