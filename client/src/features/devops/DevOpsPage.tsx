/**
 * DevOps tab: the GitLab tiles (gitlab.com and self-managed) with Connect (OAuth pop-up) and the
 * advanced-mode link, then every connection with its live status. A connected GitLab user's
 * top-level namespaces are listed with "Protect", which makes one an Organization.
 */
import { useCallback, useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { problemOf } from '../../api/errors';
import { Link, useRouter } from '../../app/router';
import {
  ConnectionNamespacesDocument,
  ConnectionsDocument,
  ConnectionStatusChangedDocument,
  OAuthInstanceDocument,
  ProtectNamespaceDocument,
  type ConnectionSummaryFragment,
} from '../../graphql/generated/graphql';
import { Field } from '../../ui/Field';
import { formatDateTime } from '../../ui/format';
import { Empty, ErrorNotice, Loading, Notice } from '../../ui/States';
import { StatusBadge } from '../../ui/StatusBadge';
import {
  ConnectOAuthButton,
  PopupBlockedHint,
  WaitingForAuthorization,
  type PendingAuthorization,
} from './ConnectOAuth';

export function DevOpsPage() {
  const [connections, refetch] = useQuery({ query: ConnectionsDocument });
  const [instance] = useQuery({ query: OAuthInstanceDocument });
  const oauthInstance = instance.data ? instance.data.oauthInstanceUrl : undefined;
  const [pending, setPending] = useState<PendingAuthorization | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selfManagedUrl, setSelfManagedUrl] = useState('');
  const [selfManagedError, setSelfManagedError] = useState<string | null>(null);
  const [lastEvent, setLastEvent] = useState<{ connectionId: string; status: string; reason: string | null } | null>(
    null,
  );

  // Every connection's status changes arrive here (the pop-up's result among them): re-read the list.
  useSubscription({ query: ConnectionStatusChangedDocument, variables: {} }, (_prev, event) => {
    const change = event.connectionStatusChanged;
    setLastEvent({ connectionId: change.connectionId, status: change.status, reason: change.reason ?? null });
    refetch({ requestPolicy: 'network-only' });
    return event;
  });

  const onPending = useCallback(
    (next: PendingAuthorization) => {
      setError(null);
      setSelfManagedError(null);
      setLastEvent(null);
      setPending(next);
      refetch({ requestPolicy: 'network-only' });
    },
    [refetch],
  );

  // AWAITING_AUTHORIZATION is where the attempt starts; any other status of it is its outcome.
  const pendingOutcome =
    pending && lastEvent?.connectionId === pending.connectionId && lastEvent.status !== 'AWAITING_AUTHORIZATION'
      ? lastEvent
      : null;
  const list = connections.data?.connections ?? [];

  return (
    <section aria-labelledby="devops-title">
      <div className="page-header">
        <h1 id="devops-title">DevOps</h1>
      </div>
      <p className="muted">
        Connect a GitLab organization to protect its repositories, wikis, LFS objects and metadata.
      </p>

      <div className="tiles">
        <article className="tile" aria-labelledby="tile-gitlab">
          <GitLabLogo />
          <h2 id="tile-gitlab">GitLab</h2>
          <p className="muted" data-testid="oauth-instance">
            {oauthInstance === undefined
              ? '…'
              : oauthInstance
                ? `Sign in to ${new URL(oauthInstance).host} in a pop-up.`
                : 'Labkeeper has no OAuth application of its own here: connect with yours, or a token, in Advanced mode.'}
          </p>
          {error ? <p className="field-error">{error}</p> : null}
          <div className="row">
            <ConnectOAuthButton onPending={onPending} onError={(message) => setError(message)} />
            <Link to="/devops/gitlab/advanced">Advanced mode</Link>
          </div>
        </article>
        <article className="tile" aria-labelledby="tile-self-managed">
          <GitLabLogo />
          <h2 id="tile-self-managed">GitLab Self-managed</h2>
          <Field label="Instance URL" error={selfManagedError} hint="For example https://gitlab.example.com">
            <input
              type="url"
              value={selfManagedUrl}
              placeholder="https://gitlab.example.com"
              onChange={(e) => setSelfManagedUrl(e.target.value)}
            />
          </Field>
          <div className="row">
            <ConnectOAuthButton
              instanceUrl={selfManagedUrl.trim() || undefined}
              onPending={onPending}
              onError={(message) =>
                setSelfManagedError(
                  `${message} For an instance without Labkeeper's OAuth application, use Advanced mode with your own.`,
                )
              }
            />
            <Link to={`/devops/gitlab/advanced?instance=${encodeURIComponent(selfManagedUrl.trim())}`}>
              Advanced mode
            </Link>
          </div>
        </article>
      </div>

      {pending && !pendingOutcome ? (
        pending.popupBlocked ? (
          <PopupBlockedHint authorizationUrl={pending.authorizationUrl} />
        ) : (
          <WaitingForAuthorization
            pending={pending}
            what="Labkeeper"
            onCancel={() => setPending(null)}
            onBlocked={() => setPending({ ...pending, popupBlocked: true })}
          />
        )
      ) : null}
      {pendingOutcome ? (
        pendingOutcome.status === 'CONNECTED' ? (
          <Notice kind="success">Connected. Choose the organization to protect below.</Notice>
        ) : (
          <Notice kind="error">Not connected: {pendingOutcome.reason ?? pendingOutcome.status}</Notice>
        )
      ) : null}

      <h2>Connections</h2>
      {connections.fetching && !connections.data ? <Loading /> : null}
      <ErrorNotice error={connections.error} />
      {connections.data && list.length === 0 ? (
        <Empty title="No GitLab connection yet.">
          Use Connect on a tile above, or Advanced mode for your own OAuth application or a personal access token.
        </Empty>
      ) : null}
      {list.map((connection) => (
        <ConnectionCard key={connection.id} connection={connection} />
      ))}
    </section>
  );
}

function ConnectionCard({ connection }: { connection: ConnectionSummaryFragment }) {
  return (
    <article
      className="card"
      aria-label={`Connection ${connection.gitlabUser?.username ?? connection.id}`}
      data-testid="connection"
    >
      <div className="row">
        <strong>
          {connection.gitlabUser ? `@${connection.gitlabUser.username}` : (connection.login ?? 'GitLab user')}
        </strong>
        <span className="muted">{connection.instanceUrl}</span>
        <span className="muted">
          {connection.method === 'PERSONAL_ACCESS_TOKEN'
            ? 'Personal access token'
            : connection.method === 'OAUTH_APP'
              ? 'Own OAuth app'
              : 'OAuth'}
        </span>
        <span className="spacer" />
        <StatusBadge status={connection.status} />
      </div>
      {connection.statusReason ? <p className="muted">{connection.statusReason}</p> : null}
      {connection.warnings.map((warning) => (
        <Notice key={warning} kind="warning">
          {warning}
        </Notice>
      ))}
      {connection.connectedAt ? <p className="muted">Connected {formatDateTime(connection.connectedAt)}</p> : null}
      {connection.status === 'CONNECTED' ? <NamespacePicker connectionId={connection.id} /> : null}
    </article>
  );
}

function NamespacePicker({ connectionId }: { connectionId: string }) {
  const [result] = useQuery({ query: ConnectionNamespacesDocument, variables: { id: connectionId } });
  const [protecting, protect] = useMutation(ProtectNamespaceDocument);
  const { navigate } = useRouter();
  const namespaces = result.data?.connection.namespaces ?? [];
  return (
    <div>
      <h3>Organizations</h3>
      {result.fetching && !result.data ? <Loading label="Asking GitLab for your groups…" /> : null}
      <ErrorNotice error={result.error ?? protecting.error} />
      {result.data && namespaces.length === 0 ? <Empty title="This GitLab user cannot reach any group." /> : null}
      {namespaces.length > 0 ? (
        <ul className="plain-list">
          {namespaces.map((ns) => (
            <li key={ns.id} className="row">
              <span>
                <strong>{ns.name}</strong> <span className="muted">{ns.fullPath}</span>
              </span>
              <span className="spacer" />
              {ns.organizationId ? (
                <Link to={`/organizations/${ns.organizationId}`}>Open organization</Link>
              ) : (
                <button
                  type="button"
                  disabled={protecting.fetching}
                  onClick={async () => {
                    const done = await protect({ input: { connectionId, namespacePath: ns.fullPath } });
                    const id = done.data?.protectNamespace.id;
                    if (id) navigate(`/organizations/${id}`);
                    else if (done.error) problemOf(done.error);
                  }}
                >
                  Protect {ns.fullPath}
                </button>
              )}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

function GitLabLogo() {
  return (
    <svg className="tile-logo" viewBox="0 0 32 32" aria-hidden="true">
      <path fill="#e24329" d="M16 29 21.4 12.4H10.6z" />
      <path fill="#fc6d26" d="M16 29 10.6 12.4H3z" />
      <path fill="#fca326" d="M3 12.4 1.4 17.4a1.1 1.1 0 0 0 .4 1.2L16 29z" />
      <path fill="#e24329" d="M3 12.4h7.6L7.3 2.3a.6.6 0 0 0-1.1 0z" />
      <path fill="#fc6d26" d="M16 29 21.4 12.4H29z" />
      <path fill="#fca326" d="m29 12.4 1.6 5a1.1 1.1 0 0 1-.4 1.2L16 29z" />
      <path fill="#e24329" d="M29 12.4h-7.6l3.3-10.1a.6.6 0 0 1 1.1 0z" />
    </svg>
  );
}
