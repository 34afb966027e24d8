import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GitbeakerClientFactory } from '../../server/src/gitlab/gitbeaker.adapter.js';
import { HttpGitLabOAuthClient } from '../../server/src/gitlab/oauth.client.js';
import { DomainError } from '../../server/src/shared/errors.js';
import { aUserPayload } from './gitlab-payloads.js';
import { byRoute, startScriptedServer, type ScriptedServer } from './scripted-server.js';
import { createTestCertificates, type TestCertificates } from './test-ca.js';

describe('a self-managed GitLab behind a private certificate authority', () => {
  let certificates: TestCertificates;
  let server: ScriptedServer;
  const factory = new GitbeakerClientFactory({ maxAttempts: 1 });
  const oauth = new HttpGitLabOAuthClient({ maxAttempts: 1 });

  beforeAll(async () => {
    certificates = createTestCertificates();
    server = await startScriptedServer(
      byRoute({
        'GET /api/v4/user': { json: aUserPayload() },
        'POST /oauth/token': {
          json: {
            access_token: 'a',
            token_type: 'Bearer',
            expires_in: 7200,
            refresh_token: 'r',
            scope: 'api',
            created_at: 1,
          },
        },
      }),
      { key: certificates.serverKey, cert: certificates.serverCert },
    );
  });

  afterAll(async () => {
    factory.close();
    oauth.close();
    await server.close();
  });

  it('is reached when the connection carries its CA certificate', async () => {
    const client = factory.create({
      instanceUrl: server.url,
      token: 't',
      tokenType: 'personal',
      caCertificate: certificates.caPem,
    });

    const user = await client.currentUser();

    expect(user.username).toBe('ada');
  });

  it('is refused without the CA certificate, as a GITLAB_UNAVAILABLE that retrying cannot fix', async () => {
    const client = factory.create({ instanceUrl: server.url, token: 't', tokenType: 'personal' });

    const error = await client.currentUser().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'GITLAB_UNAVAILABLE', retryable: false });
    expect((error as DomainError).details).toHaveProperty('tlsError');
    expect((error as DomainError).message).toMatch(/CA certificate/);
  });

  it('serves the OAuth token endpoint over the same CA', async () => {
    const app = {
      instanceUrl: server.url,
      clientId: 'id',
      clientSecret: null,
      redirectUri: 'http://cb',
      caCertificate: certificates.caPem,
    };

    const tokens = await oauth.exchangeCode(app, { code: 'c', codeVerifier: 'v' });

    expect(tokens.accessToken).toBe('a');
  });
});
