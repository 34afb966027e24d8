/** The shell: sign-in when there is no token, otherwise the navigation and the current screen. */
import { useEffect, type ReactElement } from 'react';
import { SignInPage } from '../features/signin/SignInPage';
import { Empty } from '../ui/States';
import { Link, matchPath, Router, useRouter } from './router';
import { NAVIGATION, ROUTES } from './routes';
import { SessionProvider, useSession } from './session';

export function App() {
  return (
    <Router>
      <SessionProvider>
        <Shell />
      </SessionProvider>
    </Router>
  );
}

function Shell() {
  const session = useSession();
  if (!session.token) return <SignInPage onSignIn={session.signIn} reason={session.signedOutReason} />;
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          Labkeeper
        </Link>
        <nav aria-label="Main">
          <ul className="nav">
            {NAVIGATION.map((item) => (
              <li key={item.to}>
                <Link to={item.to} className="nav-link">
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" className="button-quiet" onClick={() => session.signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" className="content" tabIndex={-1}>
        <CurrentScreen />
      </main>
    </div>
  );
}

function CurrentScreen() {
  const { path } = useRouter();
  for (const route of ROUTES) {
    const params = matchPath(route.pattern, path);
    if (params) return <Titled title={route.title}>{route.render(params)}</Titled>;
  }
  return (
    <Titled title="Not found">
      <Empty title="There is no such page.">
        <Link to="/">Go to the dashboard</Link>
      </Empty>
    </Titled>
  );
}

function Titled({ title, children }: { title: string; children: ReactElement }) {
  useEffect(() => {
    document.title = `${title} · Labkeeper`;
  }, [title]);
  return children;
}
