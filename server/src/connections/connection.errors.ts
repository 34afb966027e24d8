import { DomainError } from '../shared/errors.js';

export const connectionNotFound = (id: string) =>
  new DomainError('CONNECTION_NOT_FOUND', `connection ${id} does not exist`, { details: { connectionId: id } });

export const connectionNotConnected = (id: string, status: string) =>
  new DomainError('CONNECTION_NOT_CONNECTED', `connection ${id} is ${status}, not CONNECTED; reconnect it first`, {
    details: { connectionId: id, status },
  });

export const oauthNotConfigured = () =>
  new DomainError(
    'OAUTH_NOT_CONFIGURED',
    'quick OAuth connect needs the instance-wide OAuth app (GITLAB_OAUTH_CLIENT_ID and GITLAB_OAUTH_CLIENT_SECRET); use OAUTH_APP with your own application instead',
    { details: { fields: { method: 'OAUTH is not configured on this server' } } },
  );

/** An OAuth connection has no write authorization (or GitLab stopped honouring it): `authorizeRestore` asks for one. */
export const writeAuthorizationRequired = (id: string, reason: string | null) =>
  new DomainError(
    'WRITE_AUTHORIZATION_REQUIRED',
    `connection ${id} may only read from GitLab${reason ? ` (${reason})` : ''}: a restore writes, so authorize it first (authorizeRestore asks GitLab for api write_repository)`,
    {
      details: {
        connectionId: id,
        fields: {
          targetConnectionId: `may only read${reason ? ` (${reason})` : ''}: authorize restores for this connection first`,
        },
      },
    },
  );
