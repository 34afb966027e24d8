/**
 * Sign-in with an API token. The link the server prints at start (`/#token=…`) signs in without
 * this screen; here a token can be pasted. It is checked against the API before it is kept.
 */
import { useState, type FormEvent } from 'react';
import { Field } from '../../ui/Field';
import { Notice } from '../../ui/States';

const PROBE = JSON.stringify({ query: '{ __typename }' });

export function SignInPage({ onSignIn, reason }: { onSignIn: (token: string) => void; reason: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const value = token.trim();
    if (!value) {
      setError('Paste an API token.');
      return;
    }
    setChecking(true);
    setError(null);
    try {
      const response = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${value}` },
        body: PROBE,
      });
      if (response.status === 401) setError('This token is not valid (unknown, expired or revoked).');
      else if (!response.ok) setError(`Labkeeper answered ${response.status}. Try again.`);
      else onSignIn(value);
    } catch {
      setError('Labkeeper cannot be reached. Check that the server is running.');
    } finally {
      setChecking(false);
    }
  }

  return (
    <main className="signin" aria-labelledby="signin-title">
      <h1 id="signin-title" className="brand-title">
        Labkeeper
      </h1>
      <p className="muted">Backup and restore for your GitLab organizations.</p>
      {reason ? <Notice kind="warning">{reason}</Notice> : null}
      <form onSubmit={submit} noValidate>
        <Field
          label="API token"
          error={error}
          hint="The server prints a sign-in link with a token when it starts for the first time."
        >
          <input
            type="password"
            autoComplete="current-password"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            autoFocus
          />
        </Field>
        <button type="submit" className="button-primary" disabled={checking}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
