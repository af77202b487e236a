/** Live sessions of every user, with revoke (refused on the session's next request). */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { enc, get, post, query, type Session } from '../api';
import { Action, Empty, Loading, Problem, Table, Time, useData } from '../ui';

export function Sessions(): JSX.Element {
  const [filter, setFilter] = useState('');
  const list = useData(
    () =>
      get<{ sessions: Session[]; next_cursor: string | null }>(`/sessions${query({ limit: 500 })}`),
    [],
  );
  const f = filter.trim().toLowerCase();
  const shown = (list.data?.sessions ?? []).filter(
    (s) => f === '' || (s.email ?? s.user_id).toLowerCase().includes(f),
  );
  return (
    <section>
      <div class="bar">
        <h1>Sessions</h1>
        <label>
          Filter by user{' '}
          <input type="search" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
        </label>
      </div>
      <Loading when={list.loading && !list.data} />
      <Problem error={list.error} />
      {list.data && shown.length === 0 ? <Empty>No live sessions.</Empty> : null}
      {shown.length > 0 ? (
        <Table columns={['User', 'Session', 'Device', 'MFA', 'Started', 'Last seen']} actions>
          {shown.map((s) => (
            <tr key={s.id}>
              <td>{s.email ?? s.user_id}</td>
              <td>
                <code>{s.ref}</code>
              </td>
              <td>
                {s.device_id ? (
                  <a href={`/console/devices/${enc(s.device_id)}`}>{s.device_id}</a>
                ) : (
                  '—'
                )}
              </td>
              <td>{s.mfa_methods.length > 0 ? s.mfa_methods.join(', ') : 'none'}</td>
              <td>
                <Time at={s.created_at} />
              </td>
              <td>
                <Time at={s.last_seen_at} />
              </td>
              <td>
                <Action
                  label={`Revoke`}
                  danger
                  run={() => post(`/sessions/${enc(s.id)}/revoke`)}
                  done={list.reload}
                />
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
    </section>
  );
}
