/**
 * When a restore needs write access an OAuth connection does not have yet
 * (WRITE_AUTHORIZATION_REQUIRED), offer the separate GitLab authorization for `api
 * write_repository` in a pop-up, opened synchronously in the click handler like the connect
 * pop-up. The connection's status does not change with it, so there is no subscription event: the
 * callback page tells its opener (postMessage, same origin), and the user restores again.
 */
import { useEffect, useRef, useState } from 'react';
import { useMutation } from 'urql';
import { problemOf } from '../../api/errors';
import { AuthorizeRestoreDocument } from '../../graphql/generated/graphql';
import { PopupBlockedHint } from '../devops/ConnectOAuth';
import { inAuthorizationPopup } from '../devops/oauth-popup';
import { ErrorNotice, Notice } from '../../ui/States';

type State =
  | { step: 'idle' }
  | { step: 'waiting'; url: string; blocked: boolean }
  | { step: 'granted'; message: string }
  | { step: 'refused'; message: string };

export function WriteAuthorizationPrompt({ connectionId }: { connectionId: string }) {
  const [state, setState] = useState<State>({ step: 'idle' });
  const [authorizing, authorize] = useMutation(AuthorizeRestoreDocument);
  const box = useRef<HTMLDivElement>(null);
  // The prompt appears below the form: bring it into view (the dialog scrolls).
  useEffect(() => {
    void box.current?.scrollIntoView({ block: 'nearest' });
  }, []);

  useEffect(() => {
    if (state.step !== 'waiting') return;
    const onMessage = (event: MessageEvent) => {
      const data = event.data as { type?: string; ok?: boolean; connectionId?: string; message?: string } | null;
      if (
        event.origin !== window.location.origin ||
        data?.type !== 'labkeeper:oauth' ||
        data.connectionId !== connectionId
      )
        return;
      if (data.ok) {
        setState({ step: 'granted', message: data.message ?? 'Write access granted.' });
      } else setState({ step: 'refused', message: data.message ?? 'GitLab did not grant write access.' });
    };
    window.addEventListener('message', onMessage);
    return () => window.removeEventListener('message', onMessage);
  }, [state.step, connectionId]);

  if (state.step === 'granted') return <Notice kind="success">{state.message} Restore again to start.</Notice>;
  return (
    <div ref={box}>
      <Notice kind="warning">
        <p>
          <strong>This restore writes to GitLab, and the connection may only read.</strong> Backups use a read-only
          authorization; restores need a separate one (scopes api and write_repository), granted by the same GitLab
          user.
        </p>
        {state.step === 'refused' ? <ErrorNotice message={state.message} /> : null}
        {state.step === 'waiting' && state.blocked ? <PopupBlockedHint authorizationUrl={state.url} /> : null}
        {state.step === 'waiting' && !state.blocked ? (
          <p role="status">Waiting for you to authorize write access in the GitLab pop-up…</p>
        ) : null}
        <ErrorNotice error={authorizing.error} />
        <button
          type="button"
          className="button-primary"
          disabled={authorizing.fetching}
          onClick={async () => {
            const { result, url, blocked } = await inAuthorizationPopup(
              () => authorize({ connectionId }),
              (r) => r.data?.authorizeRestore.authorizationUrl,
            );
            if (!url) {
              setState({
                step: 'refused',
                message: problemOf(result.error).message ?? 'GitLab did not return an authorization page.',
              });
              return;
            }
            setState({ step: 'waiting', url, blocked });
          }}
        >
          Authorize write access in GitLab
        </button>
      </Notice>
    </div>
  );
}
