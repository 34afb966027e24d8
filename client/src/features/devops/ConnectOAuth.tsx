/**
 * "Connect" on a GitLab tile: OAuth through a pop-up. States: idle → waiting for the user in the
 * pop-up → CONNECTED (from the subscription). A blocked pop-up shows how to allow it and offers
 * the same tab instead.
 */
import { useMutation } from 'urql';
import { problemOf } from '../../api/errors';
import { ConnectGitLabDocument } from '../../graphql/generated/graphql';
import { Notice } from '../../ui/States';
import { closeAuthorizationPopup, inAuthorizationPopup, reopenAuthorizationPopup } from './oauth-popup';

export interface PendingAuthorization {
  connectionId: string;
  authorizationUrl: string;
  popupBlocked: boolean;
}

export function ConnectOAuthButton({
  instanceUrl,
  label = 'Connect',
  onPending,
  onError,
}: {
  instanceUrl?: string;
  label?: string;
  onPending: (pending: PendingAuthorization) => void;
  onError: (message: string, fields: Record<string, string>) => void;
}) {
  const [{ fetching }, connect] = useMutation(ConnectGitLabDocument);
  return (
    <button
      type="button"
      className="button-primary"
      disabled={fetching}
      onClick={async () => {
        const { result, url, blocked } = await inAuthorizationPopup(
          () => connect({ input: { method: 'OAUTH', ...(instanceUrl ? { instanceUrl } : {}) } }),
          (r) => r.data?.connectGitLab.authorizationUrl,
        );
        const payload = result.data?.connectGitLab;
        if (!payload || !url) {
          const problem = problemOf(result.error);
          onError(
            problem.fields.instanceUrl ?? problem.message ?? 'GitLab did not return an authorization page.',
            problem.fields,
          );
          return;
        }
        onPending({ connectionId: payload.connection.id, authorizationUrl: url, popupBlocked: blocked });
      }}
    >
      {fetching ? 'Connecting…' : label}
    </button>
  );
}

export function PopupBlockedHint({ authorizationUrl }: { authorizationUrl: string }) {
  return (
    <Notice kind="warning">
      <p>
        <strong>Your browser blocked the GitLab authorization pop-up.</strong> Allow pop-ups for this site (the
        blocked-pop-up icon at the end of the address bar), or permit the authorization window once, then click Connect
        again.
      </p>
      <p>
        Or <a href={authorizationUrl}>continue the authorization in this tab</a>: GitLab brings you back to Labkeeper
        afterwards.
      </p>
    </Notice>
  );
}

/**
 * While GitLab's authorization is open in the pop-up: Reopen brings it back (closed, or hidden
 * behind this window), Cancel closes it and stops waiting (the connection stays unauthorized).
 */
export function WaitingForAuthorization({
  pending,
  what,
  onCancel,
  onBlocked,
}: {
  pending: PendingAuthorization;
  what: string;
  onCancel: () => void;
  onBlocked: () => void;
}) {
  return (
    <Notice kind="info">
      <span className="spinner" aria-hidden="true" /> Waiting for you to sign in to GitLab and authorize {what} in the
      pop-up window…
      <div className="row">
        <button
          type="button"
          onClick={() => {
            if (!reopenAuthorizationPopup(pending.authorizationUrl)) onBlocked();
          }}
        >
          Reopen the GitLab window
        </button>
        <button
          type="button"
          onClick={() => {
            closeAuthorizationPopup();
            onCancel();
          }}
        >
          Cancel
        </button>
      </div>
    </Notice>
  );
}
