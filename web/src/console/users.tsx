/**
 * Users and groups: create a user, change their groups, disable or enable them, sign them out
 * everywhere; create and delete groups and see their members. Names and groups may come from an
 * external IdP or anyone with write access: they are shown as text only.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { enc, get, post, request } from '../api';
import { Action, Empty, Loading, Problem, Table, Time, useData } from '../ui';

interface User {
  readonly id: string;
  readonly email: string;
  readonly display_name: string;
  readonly groups: readonly string[];
  readonly disabled: boolean;
  readonly created_at: string;
}

interface Group {
  readonly name: string;
  readonly description: string;
}

const USER_LIMIT = 500;

/** `a, b c` -> `["a", "b", "c"]`: groups are typed as a list separated by commas or spaces. */
function splitGroups(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter((g) => g !== ''))];
}

const patchUser = (id: string, patch: Record<string, unknown>): Promise<unknown> =>
  request('PATCH', `/users/${enc(id)}`, patch);

export function Users(): JSX.Element {
  const users = useData(
    () => get<{ users: User[]; next_cursor: string | null }>(`/users?limit=${USER_LIMIT}`),
    [],
  );
  const groups = useData(() => get<{ groups: Group[] }>('/groups'), []);
  const reloadAll = (): void => {
    users.reload();
    groups.reload();
  };
  return (
    <section>
      <h1>Users and groups</h1>
      <NewUser done={reloadAll} />
      <h2>Users</h2>
      <Loading when={users.loading && !users.data} />
      <Problem error={users.error} />
      {users.data ? (
        <Table columns={['Email', 'Name', 'Groups', 'State', 'Created']} actions>
          {users.data.users.map((u) => (
            <UserRow key={u.id} user={u} done={users.reload} />
          ))}
        </Table>
      ) : null}
      <h2>Groups</h2>
      <NewGroup done={groups.reload} />
      <Problem error={groups.error} />
      {groups.data && users.data ? (
        <GroupList
          groups={groups.data.groups}
          users={users.data.users}
          partial={users.data.next_cursor !== null}
          done={groups.reload}
        />
      ) : null}
    </section>
  );
}

function UserRow(props: { readonly user: User; readonly done: () => void }): JSX.Element {
  const u = props.user;
  const [adding, setAdding] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const setGroups = (groups: readonly string[]): void => {
    setError(undefined);
    patchUser(u.id, { groups }).then(
      () => {
        setAdding('');
        props.done();
      },
      (e: unknown) => setError(e),
    );
  };
  return (
    <tr>
      <td>{u.email}</td>
      <td>{u.display_name}</td>
      <td>
        <ul class="chips">
          {u.groups.map((g) => (
            <li key={g}>
              <span>{g}</span>
              <button
                type="button"
                class="chip-remove"
                aria-label={`Remove ${u.email} from ${g}`}
                title={`Remove from ${g}`}
                onClick={() => setGroups(u.groups.filter((x) => x !== g))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
        <form
          class="add-group"
          onSubmit={(e) => {
            e.preventDefault();
            const more = splitGroups(adding);
            if (more.length > 0) setGroups([...new Set([...u.groups, ...more])]);
          }}
        >
          <input
            aria-label={`Add ${u.email} to groups`}
            placeholder="group"
            size={10}
            value={adding}
            onInput={(e) => setAdding(e.currentTarget.value)}
          />{' '}
          <button type="submit">Add</button>
        </form>
        <Problem error={error} />
      </td>
      <td>{u.disabled ? <span class="badge d-deny">disabled</span> : 'active'}</td>
      <td>
        <Time at={u.created_at} />
      </td>
      <td class="actions">
        <Action
          label={u.disabled ? 'Enable' : 'Disable'}
          danger={!u.disabled}
          run={() => patchUser(u.id, { disabled: !u.disabled })}
          done={props.done}
        />{' '}
        <Action
          label="Sign out everywhere"
          danger
          run={() => post(`/users/${enc(u.id)}/sessions/revoke`)}
        />
      </td>
    </tr>
  );
}

function NewUser(props: { readonly done: () => void }): JSX.Element {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [groups, setGroups] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [created, setCreated] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = (e: Event): void => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setCreated('');
    post<User>('/users', {
      email: email.trim(),
      ...(name.trim() !== '' ? { display_name: name.trim() } : {}),
      groups: splitGroups(groups),
      // the password is sent once and never shown again (the API never returns it)
      ...(password !== '' ? { password } : {}),
    }).then(
      (u) => {
        setBusy(false);
        setEmail('');
        setName('');
        setGroups('');
        setPassword('');
        setCreated(`Created ${u.email}.`);
        props.done();
      },
      (err: unknown) => {
        setBusy(false);
        setPassword('');
        setError(err);
      },
    );
  };
  return (
    <details class="card">
      <summary>New user</summary>
      <form class="inline" onSubmit={submit}>
        <label>
          Email
          <input
            type="email"
            required
            autocomplete="off"
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </label>
        <label>
          Display name
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Groups (comma-separated)
          <input value={groups} onInput={(e) => setGroups(e.currentTarget.value)} />
        </label>
        <label>
          Password (optional)
          <input
            type="password"
            autocomplete="new-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create user'}
        </button>
      </form>
      <p role="status" class="ok">
        {created}
      </p>
      <Problem error={error} />
    </details>
  );
}

function NewGroup(props: { readonly done: () => void }): JSX.Element {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const submit = (e: Event): void => {
    e.preventDefault();
    setError(undefined);
    post('/groups', {
      name: name.trim(),
      ...(description.trim() !== '' ? { description: description.trim() } : {}),
    }).then(
      () => {
        setName('');
        setDescription('');
        props.done();
      },
      (err: unknown) => setError(err),
    );
  };
  return (
    <>
      <form class="inline" onSubmit={submit}>
        <label>
          New group
          <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Description
          <input value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </label>
        <button type="submit">Create group</button>
      </form>
      <Problem error={error} />
    </>
  );
}

function GroupList(props: {
  readonly groups: readonly Group[];
  readonly users: readonly User[];
  readonly partial: boolean;
  readonly done: () => void;
}): JSX.Element {
  if (props.groups.length === 0) return <Empty>No groups.</Empty>;
  return (
    <>
      <p class="muted">
        Deleting a group does not take it out of its members’ groups: remove it from them too.
        {props.partial ? ` Members are counted among the first ${USER_LIMIT} users.` : ''}
      </p>
      <Table columns={['Group', 'Description', 'Members']} actions>
        {props.groups.map((g) => {
          // members from the user list already loaded: one request, not one per group
          const members = props.users.filter((u) => u.groups.includes(g.name));
          return (
            <tr key={g.name}>
              <td>
                <strong>{g.name}</strong>
              </td>
              <td>{g.description}</td>
              <td class="what">
                {members.length === 0 ? (
                  <span class="muted">none</span>
                ) : (
                  members.map((m) => m.email).join(', ')
                )}
              </td>
              <td>
                <Action
                  label={`Delete ${g.name}`}
                  danger
                  run={() => request('DELETE', `/groups/${enc(g.name)}`)}
                  done={props.done}
                />
              </td>
            </tr>
          );
        })}
      </Table>
    </>
  );
}
