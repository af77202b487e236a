/** The device inventory, one device's posture and history, and revocation. */
import type { JSX } from 'preact';
import { enc, get, post } from '../api';
import { Action, Empty, Loading, Problem, Table, Time, useData } from '../ui';

interface DeviceSummary {
  id: string;
  user_id: string;
  hostname: string;
  os: string;
  state: 'pending' | 'active' | 'revoked';
  enrolled_at: string;
  last_report_at: string | null;
  managed: boolean;
  tier: string | null;
  stale: boolean;
  posture: Record<string, boolean | number | string>;
}

interface DeviceDetailsData extends DeviceSummary {
  tiers: { name: string; missing: string[] }[];
  unavailable: Record<string, string>;
  history: Record<string, unknown>[];
}

export function Devices(): JSX.Element {
  const list = useData(() => get<{ devices: DeviceSummary[] }>('/devices?limit=500'), []);
  return (
    <section>
      <h1>Devices</h1>
      <Loading when={list.loading && !list.data} />
      <Problem error={list.error} />
      {list.data && list.data.devices.length === 0 ? <Empty>No devices are enrolled.</Empty> : null}
      {list.data && list.data.devices.length > 0 ? (
        <Table columns={['Device', 'Host name', 'User', 'State', 'Managed', 'Tier', 'Last report']}>
          {list.data.devices.map((d) => (
            <tr key={d.id}>
              <td>
                <a href={`/console/devices/${enc(d.id)}`}>{d.id}</a>
              </td>
              <td>{d.hostname}</td>
              <td>{d.user_id}</td>
              <td>{d.state}</td>
              <td>{d.managed ? 'yes' : 'no'}</td>
              <td>{d.tier ?? '—'}</td>
              <td>
                <Time at={d.last_report_at} />
                {d.stale ? <span class="badge">stale</span> : null}
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
    </section>
  );
}

function value(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

export function DeviceDetails(props: { readonly id: string }): JSX.Element {
  const d = useData(() => get<DeviceDetailsData>(`/devices/${enc(props.id)}`), [props.id]);
  const x = d.data;
  return (
    <section>
      <p>
        <a href="/console/devices">← Devices</a>
      </p>
      <h1>
        Device <code>{props.id}</code>
      </h1>
      <Loading when={d.loading && !x} />
      <Problem error={d.error} />
      {x ? (
        <>
          <dl class="facts">
            <dt>Host name</dt>
            <dd>{x.hostname}</dd>
            <dt>Operating system</dt>
            <dd>{x.os}</dd>
            <dt>User</dt>
            <dd>{x.user_id}</dd>
            <dt>State</dt>
            <dd>{x.state}</dd>
            <dt>Managed</dt>
            <dd>{x.managed ? 'yes' : 'no'}</dd>
            <dt>Tier</dt>
            <dd>{x.tier ?? '—'}</dd>
            <dt>Enrolled</dt>
            <dd>
              <Time at={x.enrolled_at} />
            </dd>
          </dl>
          {x.state !== 'revoked' ? (
            <Action
              label="Revoke device"
              danger
              run={() => post(`/devices/${enc(x.id)}/revoke`, {})}
              done={d.reload}
            />
          ) : null}
          <h2>Posture policies see now</h2>
          {Object.keys(x.posture).length === 0 ? (
            <Empty>No posture reported.</Empty>
          ) : (
            <table>
              <tbody>
                {Object.entries(x.posture).map(([k, v]) => (
                  <tr key={k}>
                    <th scope="row">{k}</th>
                    <td>{value(v)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>Tiers</h2>
          <ul class="plain">
            {x.tiers.map((t) => (
              <li key={t.name}>
                <strong>{t.name}</strong>:{' '}
                {t.missing.length === 0 ? 'qualifies' : `lacks ${t.missing.join(', ')}`}
              </li>
            ))}
          </ul>
          <h2>Posture history</h2>
          {x.history.length === 0 ? (
            <Empty>No history yet.</Empty>
          ) : (
            <Table columns={['When', 'Source', 'Tier', 'Changed']}>
              {x.history.map((h, i) => (
                <tr key={i}>
                  <td>
                    <Time at={typeof h.at === 'number' ? new Date(h.at).toISOString() : null} />
                  </td>
                  <td>{value(h.source)}</td>
                  <td>{value(h.tier)}</td>
                  <td>{Array.isArray(h.changes) ? h.changes.map(value).join(', ') : '—'}</td>
                </tr>
              ))}
            </Table>
          )}
        </>
      ) : null}
    </section>
  );
}
