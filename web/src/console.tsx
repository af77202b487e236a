/**
 * The admin console: one page app under `/console/`, talking to the admin API only. Who may use
 * it is the API's decision (the `ztgate-admin` policy): this page asks `/api/v1/me` and, for a
 * non-admin, says why and offers the step-up or the portal instead.
 */
import { render, type JSX } from 'preact';
import { get, type Me } from './api';
import { match, useLocation } from './router';
import { Loading, Problem, Shell, useData } from './ui';
import { Overview } from './console/overview';
import { Policies, PolicyEditor } from './console/policies';
import { Sessions } from './console/sessions';
import { DeviceDetails, Devices } from './console/devices';
import { Users } from './console/users';
import { Routes } from './console/routes';
import { Tokens } from './console/tokens';
import { Audit } from './console/audit';
import { RequestLookup } from './console/request';

const NAV = [
  { href: '/console/', label: 'Overview' },
  { href: '/console/policies', label: 'Policies' },
  { href: '/console/routes', label: 'Routes' },
  { href: '/console/sessions', label: 'Sessions' },
  { href: '/console/devices', label: 'Devices' },
  { href: '/console/users', label: 'Users' },
  { href: '/console/tokens', label: 'API tokens' },
  { href: '/console/audit', label: 'Audit log' },
  { href: '/console/requests', label: 'Explain a request' },
];

function Page(props: { readonly path: string }): JSX.Element {
  const p = props.path;
  let m: Record<string, string> | undefined;
  if (p === '/console' || p === '/console/') return <Overview />;
  if (match('/console/policies', p)) return <Policies />;
  if ((m = match('/console/policies/:name', p))) return <PolicyEditor name={m.name ?? ''} />;
  if (match('/console/routes', p)) return <Routes />;
  if (match('/console/sessions', p)) return <Sessions />;
  if (match('/console/devices', p)) return <Devices />;
  if ((m = match('/console/devices/:id', p))) return <DeviceDetails id={m.id ?? ''} />;
  if (match('/console/users', p)) return <Users />;
  if (match('/console/tokens', p)) return <Tokens />;
  if (match('/console/audit', p)) return <Audit />;
  if (match('/console/requests', p)) return <RequestLookup id="" />;
  if ((m = match('/console/requests/:id', p))) return <RequestLookup id={m.id ?? ''} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        This page does not exist. <a href="/console/">Back to the overview</a>.
      </p>
    </section>
  );
}

function NotAdmin(props: { readonly me: Me }): JSX.Element {
  const stepUp = props.me.decision === 'step_up';
  const back = encodeURIComponent(location.pathname);
  return (
    <section>
      <h1>{stepUp ? 'Confirm it is you' : 'Not an administrator'}</h1>
      <p>
        {stepUp
          ? 'The console needs a recent multi-factor sign-in.'
          : 'The admin policy does not allow this session:'}
      </p>
      <ul>
        {(props.me.reasons ?? []).map((r, i) => (
          <li key={i}>{r.message}</li>
        ))}
      </ul>
      <p>
        {stepUp ? (
          <a class="button" href={`/oauth2/step_up?return_to=${back}&max_age=1800`}>
            Sign in again with your second factor
          </a>
        ) : null}{' '}
        <a href="/portal/">Go to your portal</a>
      </p>
    </section>
  );
}

function App(): JSX.Element {
  const { path } = useLocation();
  const me = useData(() => get<Me>('/me'), []);
  const who = me.data?.user?.email;
  return (
    <Shell
      title="console"
      nav={me.data?.admin ? NAV : []}
      who={who}
      other={{ href: '/portal/', label: 'My portal' }}
    >
      <Loading when={me.loading && !me.data} />
      <Problem error={me.error} />
      {me.data ? me.data.admin ? <Page path={path} /> : <NotAdmin me={me.data} /> : null}
    </Shell>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
