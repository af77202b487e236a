/**
 * Shared pieces of the console and the portal. Everything shown goes through JSX text or
 * attributes, which Preact writes with `textContent`/`setAttribute`: markup in a value (a device
 * name, a path, a display name) stays text. Nothing here uses `dangerouslySetInnerHTML`, and links
 * built from data go through `safeHref`.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, signIn } from './api';
import { onLinkClick, useLocation } from './router';

export interface NavItem {
  readonly href: string;
  readonly label: string;
}

export function Shell(props: {
  readonly title: string;
  readonly nav: readonly NavItem[];
  readonly who?: string | undefined;
  readonly other?: NavItem | undefined;
  readonly children: ComponentChildren;
}): JSX.Element {
  const { path } = useLocation();
  return (
    <div class="app" onClick={onLinkClick}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">ztgate · {props.title}</span>
        <nav aria-label="Sections">
          <ul>
            {props.nav.map((n) => (
              <li key={n.href}>
                <a
                  href={n.href}
                  aria-current={
                    path === n.href ||
                    (n.href.split('/').length > 2 && path.startsWith(`${n.href}/`))
                      ? 'page'
                      : undefined
                  }
                >
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          {props.other ? <a href={props.other.href}>{props.other.label}</a> : null}
          {props.who !== undefined ? <span class="email">{props.who}</span> : null}
          <form method="post" action="/oauth2/sign_out">
            <button type="submit" class="link">
              Sign out
            </button>
          </form>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {props.children}
      </main>
    </div>
  );
}

export interface Async<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  readonly reload: () => void;
}

/** Loads data for a view; reloads when `deps` change. A 401 sends the browser to sign in. */
export function useData<T>(load: () => Promise<T>, deps: readonly unknown[]): Async<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const current = useRef(0);
  useEffect(() => {
    const mine = ++current.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => {
        if (mine === current.current) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (error instanceof ApiError && error.status === 401) return signIn();
        if (mine === current.current) setState({ data: undefined, error, loading: false });
      },
    );
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export function Problem(props: { readonly error: unknown }): JSX.Element | null {
  const e = props.error;
  if (e === undefined || e === null) return null;
  if (e instanceof ApiError) {
    return (
      <div class="problem" role="alert">
        <p>
          {e.message} {e.code ? <code>{e.code}</code> : null}
        </p>
        {e.problem.help ? <p class="help">{e.problem.help}</p> : null}
        {e.problem.problems && e.problem.problems.length > 0 ? (
          <ul>
            {e.problem.problems.map((p, i) => (
              <li key={i}>
                {p.path ? <code>{p.path}</code> : null} {p.message}
              </li>
            ))}
          </ul>
        ) : null}
      </div>
    );
  }
  return (
    <div class="problem" role="alert">
      <p>{e instanceof Error ? e.message : 'something went wrong'}</p>
    </div>
  );
}

export function Loading(props: { readonly when: boolean }): JSX.Element | null {
  return props.when ? (
    <p class="muted" aria-live="polite">
      Loading…
    </p>
  ) : null;
}

export function Time(props: { readonly at: string | null | undefined }): JSX.Element {
  if (!props.at) return <span class="muted">—</span>;
  const d = new Date(props.at);
  return (
    <time dateTime={props.at} title={props.at}>
      {Number.isNaN(d.getTime()) ? props.at : d.toLocaleString()}
    </time>
  );
}

export function Decision(props: { readonly value: string | null | undefined }): JSX.Element {
  const v = props.value ?? 'unknown';
  const cls = /^(allow|deny|login|step_up|no-route)$/.test(v) ? v : 'unknown';
  return <span class={`badge d-${cls}`}>{v.replace('_', '-')}</span>;
}

/** Only `https:` (and same-origin) links are followed; anything else is shown as text. */
export function safeHref(url: string): string | undefined {
  try {
    const u = new URL(url, location.origin);
    if (u.protocol === 'https:' && !u.hostname.startsWith('*.')) return u.href;
  } catch {
    // not a URL: shown as text
  }
  return undefined;
}

/** A button that runs an action, shows it is busy and reports its error next to itself. */
export function Action(props: {
  readonly label: string;
  readonly run: () => Promise<unknown>;
  readonly danger?: boolean;
  readonly done?: () => void;
  readonly describedBy?: string;
}): JSX.Element {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const click = (): void => {
    setBusy(true);
    setError(undefined);
    props.run().then(
      () => {
        setBusy(false);
        props.done?.();
      },
      (e: unknown) => {
        setBusy(false);
        setError(e);
      },
    );
  };
  return (
    <span class="action">
      <button
        type="button"
        class={props.danger ? 'danger' : undefined}
        disabled={busy}
        aria-describedby={props.describedBy}
        onClick={click}
      >
        {busy ? `${props.label}…` : props.label}
      </button>
      {error !== undefined ? <Problem error={error} /> : null}
    </span>
  );
}

export function Empty(props: { readonly children: ComponentChildren }): JSX.Element {
  return <p class="muted">{props.children}</p>;
}

/**
 * A table of records: the column headings (scoped for screen readers), an unlabelled-looking
 * "Actions" column when rows carry buttons, and the horizontal scroll box narrow screens need.
 */
export function Table(props: {
  readonly columns: readonly string[];
  readonly actions?: boolean;
  readonly children: ComponentChildren;
}): JSX.Element {
  return (
    <div class="scroll">
      <table>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th scope="col" key={c}>
                {c}
              </th>
            ))}
            {props.actions ? (
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}
