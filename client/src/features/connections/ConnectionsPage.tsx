/**
 * Every GitLab connection: method, instance, GitLab user, scopes, status with its reason, token
 * expiry and warnings (a token expiring soon stands out), the organizations protected through it, reauthorize (OAuth pop-up) and disconnect
 * (confirmed). Status changes arrive through `connectionStatusChanged`; the list is re-read then.
 */
import { useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { problemOf } from '../../api/errors';
import { Link } from '../../app/router';
import {
  ConnectionsDocument,
  ConnectionsOrganizationsDocument,
  ConnectionStatusChangedDocument,
  type ConnectionsOrganizationsQuery,
  DisconnectDocument,
  ReauthorizeConnectionDocument,
  type ConnectionSummaryFragment,
} from '../../graphql/generated/graphql';
import { PopupBlockedHint, type PendingAuthorization } from '../devops/ConnectOAuth';
import { inAuthorizationPopup } from '../devops/oauth-popup';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import { formatDateTime, formatRelative } from '../../ui/format';
import { Empty, ErrorNotice, Loading, Notice } from '../../ui/States';
import { StatusBadge } from '../../ui/StatusBadge';

export const METHOD_LABELS: Record<string, string> = {
  OAUTH: 'OAuth',
  OAUTH_APP: 'Own OAuth app',
  PERSONAL_ACCESS_TOKEN: 'Personal access token',
};

export function ConnectionsPage() {
  const [connections, refetch] = useQuery({ query: ConnectionsDocument });
  const [organizations] = useQuery({ query: ConnectionsOrganizationsDocument });
  const organizationsOf = (connectionId: string) =>
    (organizations.data?.organizations ?? []).filter((o) => o.connectionId === connectionId);
  const [pending, setPending] = useState<PendingAuthorization | null>(null);
  const [announcement, setAnnouncement] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<ConnectionSummaryFragment | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [reauthorizing, reauthorize] = useMutation(ReauthorizeConnectionDocument);

  useSubscription({ query: ConnectionStatusChangedDocument, variables: {} }, (_prev, event) => {
    const change = event.connectionStatusChanged;
    if (pending?.connectionId === change.connectionId && change.status !== 'AWAITING_AUTHORIZATION') setPending(null);
    setAnnouncement(
      `A connection is now ${change.status.toLowerCase().replace(/_/g, ' ')}${change.reason ? `: ${change.reason}` : ''}.`,
    );
    refetch({ requestPolicy: 'network-only' });
    return event;
  });

  async function startReauthorize(connection: ConnectionSummaryFragment) {
    setProblem(null);
    const { result, url, blocked } = await inAuthorizationPopup(
      () => reauthorize({ id: connection.id }),
      (r) => r.data?.reauthorizeConnection.authorizationUrl,
    );
    if (!url) {
      setProblem(problemOf(result.error).message ?? 'GitLab did not return an authorization page.');
      return;
    }
    setPending({ connectionId: connection.id, authorizationUrl: url, popupBlocked: blocked });
  }

  // Those needing attention first, disconnected ones (kept as history) last.
  const rank = (c: ConnectionSummaryFragment) => (c.status === 'DISCONNECTED' ? 2 : needsAttention(c) ? 0 : 1);
  const list = [...(connections.data?.connections ?? [])].sort((a, b) => rank(a) - rank(b));
  return (
    <section aria-labelledby="connections-title">
      <div className="page-header">
        <h1 id="connections-title">Connections</h1>
        <span className="spacer" />
        <Link to="/devops" className="button">
          Connect GitLab
        </Link>
      </div>
      <p className="visually-hidden" aria-live="polite">
        {announcement}
      </p>
      {problem ? <ErrorNotice message={problem} /> : null}
      {pending ? (
        pending.popupBlocked ? (
          <PopupBlockedHint authorizationUrl={pending.authorizationUrl} />
        ) : (
          <Notice kind="info">
            <span className="spinner" aria-hidden="true" /> Waiting for you to authorize Labkeeper again in the GitLab
            pop-up…
          </Notice>
        )
      ) : null}
      {connections.fetching && !connections.data ? <Loading /> : null}
      <ErrorNotice error={connections.error} />
      {connections.data && list.length === 0 ? (
        <Empty title="No GitLab connection yet.">
          <Link to="/devops">Connect GitLab</Link> from the DevOps tab.
        </Empty>
      ) : null}
      {list.map((connection) => (
        <ConnectionDetails
          key={connection.id}
          connection={connection}
          organizations={organizations.data ? organizationsOf(connection.id) : undefined}
          busy={reauthorizing.fetching}
          onReauthorize={() => void startReauthorize(connection)}
          onDisconnect={() => setConfirming(connection)}
        />
      ))}
      <DisconnectDialog
        connection={confirming}
        onClose={() => setConfirming(null)}
        onDone={() => {
          setConfirming(null);
          refetch({ requestPolicy: 'network-only' });
        }}
      />
    </section>
  );
}

function needsAttention(connection: ConnectionSummaryFragment): boolean {
  return ['ERROR', 'EXPIRED'].includes(connection.status) || connection.warnings.length > 0;
}

function who(connection: ConnectionSummaryFragment): string {
  return connection.gitlabUser
    ? `@${connection.gitlabUser.username}`
    : (connection.login ?? 'GitLab user not known yet');
}

type OrganizationLink = ConnectionsOrganizationsQuery['organizations'][number];

function ConnectionDetails({
  connection,
  organizations,
  busy,
  onReauthorize,
  onDisconnect,
}: {
  connection: ConnectionSummaryFragment;
  /** The organizations protected through it; undefined while they load. */
  organizations: OrganizationLink[] | undefined;
  busy: boolean;
  onReauthorize: () => void;
  onDisconnect: () => void;
}) {
  const isOAuth = connection.method !== 'PERSONAL_ACCESS_TOKEN';
  const disconnected = connection.status === 'DISCONNECTED';
  const attention = needsAttention(connection);
  return (
    <article
      className={`card connection-card${attention ? ' card-attention' : ''}`}
      aria-label={`Connection ${who(connection)} on ${connection.instanceUrl}`}
      data-testid="connection"
    >
      <div className="row">
        <h2 className="card-title">{who(connection)}</h2>
        <StatusBadge status={connection.status} />
        <span className="spacer" />
        {isOAuth && !disconnected ? (
          <button type="button" disabled={busy} onClick={onReauthorize}>
            Reauthorize
          </button>
        ) : null}
        {!disconnected ? (
          <button type="button" className="button-danger" onClick={onDisconnect}>
            Disconnect
          </button>
        ) : null}
      </div>
      {connection.statusReason ? <p className="status-reason">{connection.statusReason}</p> : null}
      {connection.warnings.map((warning) => (
        <div key={warning} className="notice notice-warning notice-strong" role="alert">
          <strong>Warning:</strong> {warning}
        </div>
      ))}
      <dl className="facts">
        <div>
          <dt>Method</dt>
          <dd>{METHOD_LABELS[connection.method] ?? connection.method}</dd>
        </div>
        <div>
          <dt>Instance</dt>
          <dd>
            <a href={connection.instanceUrl} target="_blank" rel="noreferrer">
              {connection.instanceUrl}
            </a>
          </dd>
        </div>
        <div>
          <dt>GitLab user</dt>
          <dd>
            {connection.gitlabUser ? (
              <>
                {connection.gitlabUser.name ? `${connection.gitlabUser.name} ` : ''}
                <span className="muted">@{connection.gitlabUser.username}</span>
              </>
            ) : (
              '—'
            )}
            {connection.login && connection.login !== connection.gitlabUser?.username ? (
              <span className="muted"> (login {connection.login})</span>
            ) : null}
          </dd>
        </div>
        <div>
          <dt>Scopes</dt>
          <dd>
            {connection.scopes.length > 0
              ? connection.scopes.map((s) => (
                  <code key={s} className="scope">
                    {s}
                  </code>
                ))
              : '—'}
          </dd>
        </div>
        <div>
          <dt>Token expires</dt>
          <dd>
            {connection.tokenExpiresAt ? (
              <>
                {formatDateTime(connection.tokenExpiresAt)}{' '}
                <span className="muted">({formatRelative(connection.tokenExpiresAt)})</span>
                {connection.method !== 'PERSONAL_ACCESS_TOKEN' ? (
                  <span className="muted"> · refreshed automatically</span>
                ) : null}
              </>
            ) : (
              'never'
            )}
          </dd>
        </div>
        <div>
          <dt>Connected since</dt>
          <dd>{formatDateTime(connection.connectedAt)}</dd>
        </div>
        <div>
          <dt>Organizations</dt>
          <dd>
            {organizations === undefined ? (
              '…'
            ) : organizations.length === 0 ? (
              <span className="muted">none protected through it</span>
            ) : (
              <ul className="inline-list" aria-label={`Organizations of ${who(connection)}`}>
                {organizations.map((o) => (
                  <li key={o.id}>
                    <Link to={`/organizations/${o.id}`}>{o.name}</Link> <span className="muted">{o.fullPath}</span>
                  </li>
                ))}
              </ul>
            )}
          </dd>
        </div>
      </dl>
    </article>
  );
}

function DisconnectDialog({
  connection,
  onClose,
  onDone,
}: {
  connection: ConnectionSummaryFragment | null;
  onClose: () => void;
  onDone: () => void;
}) {
  const [result, disconnect] = useMutation(DisconnectDocument);
  return (
    <ConfirmDialog
      title="Disconnect?"
      subject={connection}
      onClose={onClose}
      action="Disconnect"
      busyAction="Disconnecting…"
      busy={result.fetching}
      confirm={async (connection) => {
        const done = await disconnect({ id: connection.id });
        if (!done.data?.disconnect) return problemOf(done.error).message;
        onDone();
        return null;
      }}
    >
      {(connection) => (
        <p>
          Disconnect <strong>{who(connection)}</strong> on {connection.instanceUrl}? Syncs and backups through it stop;
          OAuth tokens are revoked where GitLab allows. Existing snapshots are kept.
        </p>
      )}
    </ConfirmDialog>
  );
}
