/**
 * The API token the client sends. The sign-in link the server prints (`/#token=…`) hands it over
 * in the URL fragment (never sent to a server, so it lands in no access log); the client keeps it
 * in sessionStorage (this tab only, gone when it closes) and removes it from the address bar at once.
 * Trade-off (README, "Security"): script on our origin could still read it, which the CSP (no inline
 * or foreign script) guards against; an HttpOnly cookie would hide it from script but would need
 * CSRF protection for every mutation and a cookie session API. Closing the tab signs out.
 */
const KEY = 'labkeeper.apiToken';

export function takeTokenFromUrl(location: Location, history: History): string | null {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return null;
  const token = decodeURIComponent(match[1]);
  history.replaceState(history.state, '', location.pathname + location.search);
  return token;
}

export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    // Private mode without storage: the token lives for this page only.
  }
}
