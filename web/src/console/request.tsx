/** The decision explanation of any request id: what was decided, by which rule, and why. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { enc, get, type Explanation } from '../api';
import { navigate } from '../router';
import { Decision, Loading, Problem, Time, useData } from '../ui';

export function ExplanationView(props: {
  readonly x: Explanation;
  readonly admin: boolean;
}): JSX.Element {
  const x = props.x;
  return (
    <article class="explanation">
      <h2>
        <Decision value={x.decision} /> <code>{x.method}</code>{' '}
        <span class="url">{`${x.route ?? ''}${x.path ?? ''}`}</span>
      </h2>
      <dl class="facts">
        <dt>When</dt>
        <dd>
          <Time at={x.time} />
        </dd>
        <dt>Request id</dt>
        <dd>
          <code>{x.request_id}</code>
        </dd>
        {props.admin ? (
          <>
            <dt>User</dt>
            <dd>{x.email ?? x.user_id ?? 'not signed in'}</dd>
            <dt>Device</dt>
            <dd>{x.device_id ?? '—'}</dd>
            <dt>Source address</dt>
            <dd>{x.source_ip ?? '—'}</dd>
            <dt>Mode</dt>
            <dd>{x.mode ?? '—'}</dd>
          </>
        ) : null}
        <dt>Policy</dt>
        <dd>
          {x.policy ?? '—'}
          {x.rule ? (
            <>
              {' '}
              (rule <code>{x.rule}</code>)
            </>
          ) : null}
        </dd>
      </dl>
      <h3>Why</h3>
      {x.reasons.length === 0 ? (
        <p class="muted">No reasons were recorded.</p>
      ) : (
        <ul class="reasons">
          {x.reasons.map((r, i) => (
            <li key={i}>
              {r.message} <code class="muted">{r.code}</code>
            </li>
          ))}
        </ul>
      )}
      {x.now ? (
        <>
          <h3>If it were decided now</h3>
          <p>
            <Decision value={x.now.decision} />{' '}
            {x.now.rule ? (
              <>
                by rule <code>{x.now.rule}</code>
              </>
            ) : null}
          </p>
          {x.now.decision !== 'allow' ? (
            <ul class="reasons">
              {x.now.reasons.map((r, i) => (
                <li key={i}>{r.message}</li>
              ))}
            </ul>
          ) : null}
          {props.admin && x.now.approximations.length > 0 ? (
            <p class="muted">Rebuilt facts: {x.now.approximations.join(', ')}.</p>
          ) : null}
        </>
      ) : null}
    </article>
  );
}

export function RequestLookup(props: { readonly id: string }): JSX.Element {
  const [id, setId] = useState(props.id);
  const result = useData(
    () =>
      props.id === ''
        ? Promise.resolve(undefined)
        : get<Explanation>(`/audit/requests/${enc(props.id)}`),
    [props.id],
  );
  return (
    <section>
      <h1>Explain a request</h1>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          if (id.trim() !== '') navigate(`/console/requests/${enc(id.trim())}`);
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
      {result.data ? <ExplanationView x={result.data} admin /> : null}
    </section>
  );
}
