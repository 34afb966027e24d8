/** The shell: sign-in when there is no token, otherwise the navigation and the current screen. */
import { useEffect, useState, type ReactElement } from 'react';
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
  const { path } = useRouter();
  // On a narrow screen the navigation folds behind a Menu button; choosing a screen folds it again.
  const [navOpen, setNavOpen] = useState(false);
  useEffect(() => setNavOpen(false), [path]);
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
        <button
          type="button"
          className="button-quiet nav-toggle"
          aria-expanded={navOpen}
          aria-controls="main-nav"
          onClick={() => setNavOpen((open) => !open)}
        >
          {navOpen ? 'Close menu' : 'Menu'}
        </button>
        <nav aria-label="Main" id="main-nav" className={navOpen ? 'nav-open' : undefined}>
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
        <button type="button" className="button-quiet sign-out" onClick={() => session.signOut()}>
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
