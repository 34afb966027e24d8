/**
 * The API token the client sends. The sign-in link the server prints (`/#token=…`) hands it over
 * in the URL fragment (never sent to a server, so it lands in no access log); the client keeps it
 * in localStorage and removes it from the address bar at once.
 */
const KEY = 'labkeeper.apiToken';

export function takeTokenFromUrl(location: Location, history: History): string | null {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return null;
  const token = decodeURIComponent(match[1]!);
  history.replaceState(history.state, '', location.pathname + location.search);
  return token;
}

export function storedToken(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  } catch {
    // Private mode without storage: the token lives for this page only.
  }
}
