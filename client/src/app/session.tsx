/**
 * Who is signed in: the API token and the urql client made for it. Signing out (or a 401 from the
 * API) drops both and shows the sign-in screen.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { Provider } from 'urql';
import { createApiClient, type ApiClient } from '../api/urql';
import { storedToken, storeToken, takeTokenFromUrl } from '../api/session';

interface SessionState {
  token: string | null;
  signIn: (token: string) => void;
  signOut: (reason?: string) => void;
  /** Why the last session ended (an expired or revoked token), shown on the sign-in screen. */
  signedOutReason: string | null;
}

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [token, setToken] = useState<string | null>(() => {
    const fromUrl = takeTokenFromUrl(window.location, window.history);
    if (fromUrl) storeToken(fromUrl);
    return fromUrl ?? storedToken();
  });
  const [signedOutReason, setSignedOutReason] = useState<string | null>(null);

  const signOut = useCallback((reason?: string) => {
    storeToken(null);
    setToken(null);
    setSignedOutReason(reason ?? null);
  }, []);
  const signIn = useCallback((next: string) => {
    storeToken(next);
    setSignedOutReason(null);
    setToken(next);
  }, []);

  const client = useMemo<ApiClient | null>(
    () =>
      token
        ? createApiClient(token, () => signOut('Your API token was refused (expired or revoked). Sign in again.'))
        : null,
    [token, signOut],
  );
  useEffect(() => () => client?.dispose(), [client]);

  const value = useMemo(() => ({ token, signIn, signOut, signedOutReason }), [token, signIn, signOut, signedOutReason]);
  return (
    <SessionContext.Provider value={value}>
      {client ? <Provider value={client.urql}>{children}</Provider> : children}
    </SessionContext.Provider>
  );
}

export function useSession(): SessionState {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside <SessionProvider>');
  return session;
}
