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
