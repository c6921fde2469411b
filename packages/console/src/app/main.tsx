import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Session } from './session.js';
import { ErrorLine } from './parts/common.js';
import { Overview } from './pages/overview.js';
import { VmList } from './pages/vms.js';
import { VmDetail } from './pages/vm-detail.js';
import { JobList, JobPage } from './pages/jobs.js';
import { VolumeList } from './pages/volumes.js';
import { VolumeDetail } from './pages/volume-detail.js';
import { EventLog } from './pages/events.js';
import { OPERATOR_NAV, operatorPage } from './pages/operator.js';

/** Pages live after '#', so the server serves one file and a reload keeps the page. */
function useRoute(): string {
  const [hash, setHash] = useState(location.hash.slice(1) || '/');
  useEffect(() => {
    const on = () => setHash(location.hash.slice(1) || '/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function LoginForm({
  onLogin,
  ended,
  notice,
}: {
  onLogin: (s: Session) => void;
  ended: (reason: string) => void;
  notice: string;
}) {
  const [error, setError] = useState<Error | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    try {
      onLogin(
        await Session.start(
          (f.get('username') as string | null) ?? '',
          (f.get('password') as string | null) ?? '',
          ended,
        ),
      );
    } catch (err) {
      setError(err as Error);
    }
    setBusy(false);
  };
  return (
    <main class="login">
      <form onSubmit={(e) => void submit(e)} aria-label="log in">
        <h1>Strata</h1>
        {notice && <p class="notice">{notice}</p>}
        <label>
          Username <input name="username" autocomplete="username" required />
        </label>
        <label>
          Password <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <button type="submit" disabled={busy}>
          Log in
        </button>
        <ErrorLine error={error} />
      </form>
    </main>
  );
}

function Page({ session, route }: { session: Session; route: string }) {
  const [, section, id] = route.split('/');
  if (section === 'vms' && id) return <VmDetail session={session} id={id} />;
  if (section === 'vms') return <VmList session={session} />;
  if (section === 'volumes' && id) return <VolumeDetail session={session} id={id} />;
  if (section === 'volumes') return <VolumeList session={session} />;
  if (section === 'jobs' && id) return <JobPage session={session} id={id} />;
  if (section === 'jobs') return <JobList session={session} />;
  if (section === 'events') return <EventLog session={session} />;
  const op = operatorPage(session, section ?? '');
  if (op) return op;
  return <Overview session={session} />;
}

function App() {
  const [notice, setNotice] = useState(sessionStorage.getItem('strata.notice') ?? '');
  const ended = (reason: string) => {
    sessionStorage.setItem('strata.notice', reason);
    setSession(null);
    setNotice(reason);
  };
  const [session, setSession] = useState<Session | null>(() => Session.restore(ended));
  const route = useRoute();
  if (!session)
    return (
      <LoginForm
        notice={notice}
        ended={ended}
        onLogin={(s) => {
          sessionStorage.removeItem('strata.notice');
          setNotice('');
          setSession(s);
        }}
      />
    );
  const nav = (href: string, label: string) => (
    <a
      key={href}
      href={href}
      aria-current={route.startsWith(href.slice(1)) && href !== '#/' ? 'page' : undefined}
    >
      {label}
    </a>
  );
  return (
    <>
      <header>
        <strong class="brand">Strata</strong>
        <nav>
          {nav('#/', 'Overview')}
          {nav('#/vms', 'VMs')}
          {nav('#/volumes', 'Volumes')}
          {nav('#/jobs', 'Jobs')}
          {nav('#/events', 'Events')}
          {session.operator && OPERATOR_NAV.map(([href, label]) => nav(href, label))}
        </nav>
        <span class="who">
          {session.login.role === 'admin' ? 'operator' : session.login.role} · account{' '}
          <span class="mono">{session.login.accountId.slice(0, 8)}</span>
        </span>
        <button onClick={() => void session.logout()}>Log out</button>
      </header>
      <main>
        <Page session={session} route={route} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
