/** Users and groups: who exists, their groups, and "sign out everywhere" per user. */
import type { JSX } from 'preact';
import { enc, get, post } from '../api';
import { Action, Loading, Problem, Time, useData } from '../ui';

interface User {
  id: string;
  email: string;
  display_name: string;
  groups: string[];
  disabled: boolean;
  created_at: string;
}

interface Group {
  name: string;
  description: string;
}

export function Users(): JSX.Element {
  const users = useData(() => get<{ users: User[] }>('/users?limit=500'), []);
  const groups = useData(() => get<{ groups: Group[] }>('/groups'), []);
  return (
    <section>
      <h1>Users and groups</h1>
      <Loading when={users.loading && !users.data} />
      <Problem error={users.error} />
      {users.data ? (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Name</th>
                <th scope="col">Groups</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data.users.map((u) => (
                <tr key={u.id}>
                  <td>{u.email}</td>
                  <td>{u.display_name}</td>
                  <td>{u.groups.join(', ')}</td>
                  <td>{u.disabled ? 'disabled' : 'active'}</td>
                  <td>
                    <Time at={u.created_at} />
                  </td>
                  <td>
                    <Action
                      label="Sign out everywhere"
                      danger
                      run={() => post(`/users/${enc(u.id)}/sessions/revoke`)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <h2>Groups</h2>
      <Problem error={groups.error} />
      {groups.data ? (
        <ul class="plain">
          {groups.data.groups.map((g) => (
            <li key={g.name}>
              <strong>{g.name}</strong>{' '}
              {g.description ? <span class="muted">{g.description}</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
