/**
 * The routes editor: the routes in force as YAML, checked as you type with the policies in force
 * (`POST /config/validate`, the same check a save gets), saved with `PUT /routes` and the ETag it
 * was read with, so a change someone else made meanwhile is refused (412) instead of overwritten.
 * Below it, the config versions with their author and a rollback.
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { stringify } from 'yaml';
import { ApiError, get, post, request, type ConfigProblem } from '../api';
import { Action, Loading, Problem, Table, Time, useData } from '../ui';
import { parseYaml, pointerPath, ProblemList, useLiveCheck } from './yaml-editor';

interface ConfigData {
  readonly version: number;
  readonly routes: readonly unknown[];
  readonly policies: Record<string, unknown>;
}

interface Version {
  readonly version: number;
  readonly author: string;
  readonly created_at: string;
  readonly in_force: boolean;
}

/** Where a version came from, said from its author (`file`, `api:<user id>`, `token:<id>`). */
function sourceOf(author: string): string {
  if (author === 'file') return 'ztgate.yaml';
  if (author.startsWith('api:')) return 'console or API (signed in)';
  if (author.startsWith('token:')) return 'API token';
  return author;
}

export function Routes(): JSX.Element {
  const [loaded, setLoaded] = useState<ConfigData | undefined>(undefined);
  const [etag, setEtag] = useState<string | null>(null);
  const [text, setText] = useState<string | undefined>(undefined);
  const [loadError, setLoadError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState('');
  const [saveError, setSaveError] = useState<unknown>(undefined);
  const [conflict, setConflict] = useState(false);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    setLoadError(undefined);
    request<ConfigData>('GET', '/config').then(
      (a) => {
        setLoaded(a.body);
        setEtag(a.etag);
        setText(a.body.routes.length === 0 ? '[]\n' : stringify(a.body.routes));
        setConflict(false);
        setSaveError(undefined);
      },
      (e: unknown) => setLoadError(e),
    );
  }, [tick]);
  const reload = (): void => setTick((t) => t + 1);

  const versions = useData(
    () => get<{ versions: Version[] }>('/config/versions?limit=20'),
    [loaded?.version],
  );

  const parsed = useMemo(() => (text === undefined ? undefined : parseYaml(text)), [text]);
  const policies = loaded?.policies;
  const { problems, checking } = useLiveCheck(
    parsed,
    (routes) =>
      post<{ valid: boolean; problems: ConfigProblem[] }>('/config/validate', {
        routes: routes ?? [],
        policies: policies ?? {},
      }),
    (pointer) => pointerPath(pointer, 'routes', 1),
    [policies],
  );
  const errors = problems.filter((p) => p.severity === 'error').length;

  const save = (): void => {
    setSaveError(undefined);
    setSaved('');
    setConflict(false);
    request<{ version: number; routes: unknown[] }>(
      'PUT',
      '/routes',
      { routes: parsed?.value ?? [] },
      etag ? { 'if-match': etag } : {},
    ).then(
      (a) => {
        setEtag(a.etag);
        if (loaded) setLoaded({ ...loaded, version: a.body.version, routes: a.body.routes });
        setSaved(`Saved as version ${a.body.version}.`);
      },
      (e: unknown) => {
        // someone else's change landed since this page read the config: never overwrite it
        if (e instanceof ApiError && (e.status === 412 || e.status === 409)) setConflict(true);
        else setSaveError(e);
      },
    );
  };

  const rollback = (version: number): Promise<unknown> =>
    request('POST', `/config/versions/${version}/rollback`, undefined, {
      ...(etag ? { 'if-match': etag } : {}),
    }).catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 412) {
        throw new Error(
          'The config changed since this page read it. Load the config in force and try again.',
        );
      }
      throw e;
    });

  return (
    <section>
      <p>
        <a href="/console/policies">← Routes and policies</a>
      </p>
      <h1>Routes</h1>
      <Problem error={loadError} />
      {text === undefined || !loaded ? (
        <Loading when={loadError === undefined} />
      ) : (
        <div class="editor">
          <p class="muted">
            Version {loaded.version} is in force. A route is <code>from</code> (the app’s URL),{' '}
            <code>to</code> (the upstream), <code>policy</code> (a name or a policy inline) and{' '}
            <code>mode</code>; the policies stay as they are.
          </p>
          <label for="routes-text">Routes (YAML)</label>
          <textarea
            id="routes-text"
            spellcheck={false}
            rows={16}
            value={text}
            aria-invalid={errors > 0}
            aria-describedby="routes-problems"
            onInput={(e) => {
              setText(e.currentTarget.value);
              setSaved('');
            }}
          />
          <ProblemList id="routes-problems" checking={checking} problems={problems} />
          <div class="buttons">
            <button type="button" class="primary" onClick={save} disabled={errors > 0}>
              Save
            </button>
            <span role="status" class="ok">
              {saved}
            </span>
          </div>
          {conflict ? (
            <div class="problem" role="alert">
              <p>
                Not saved: someone changed the routes or policies since this page read version{' '}
                {loaded.version}. Your text is still here; copy it, load the config in force and
                make your change again.
              </p>
              <p>
                <button type="button" onClick={reload}>
                  Load the config in force
                </button>
              </p>
            </div>
          ) : null}
          <Problem error={saveError} />
        </div>
      )}
      <h2>Versions</h2>
      <p class="muted">
        Every change of the routes or policies, from the file or the API. Rolling back puts an
        earlier version in force again as a new version, and replaces the text above.
      </p>
      <Loading when={versions.loading && !versions.data} />
      <Problem error={versions.error} />
      {versions.data ? (
        <Table columns={['Version', 'Time', 'Author', 'Source']} actions>
          {versions.data.versions.map((v) => (
            <tr key={v.version}>
              <td class="num">{v.version}</td>
              <td>
                <Time at={v.created_at} />
              </td>
              <td>
                <code>{v.author}</code>
              </td>
              <td>{sourceOf(v.author)}</td>
              <td>
                {v.in_force ? (
                  <span class="badge">in force</span>
                ) : (
                  <Action
                    label={`Roll back to ${v.version}`}
                    run={() => rollback(v.version)}
                    done={reload}
                  />
                )}
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
    </section>
  );
}
