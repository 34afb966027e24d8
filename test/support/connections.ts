/**
 * The setup most backup and UI tests start from: a personal-access-token Connection through the
 * API that protects one namespace, with its first repository sync finished.
 */
import { expect } from '@jest/globals';
import { nextJob, type TestApp } from './app.js';
import type { GitLabSimulator } from './gitlab-simulator/index.js';
import { aToken } from './gitlab-seed.js';

export interface ConnectedOrganization {
  connectionId: string;
  organizationId: string;
  token: string;
}

export async function connectOrganization(
  t: TestApp,
  sim: GitLabSimulator,
  options: {
    userId: number;
    login?: string;
    namespacePath: string;
    includeGroups?: boolean;
    scopes?: string[];
    tokenExpiresAt?: string | null;
    /** The organization's RepoSyncSchedule (default: the server's interval). */
    repoSyncSchedule?: Record<string, unknown>;
    /** PEM of the private CA of an https simulator. */
    caCertificate?: string;
  },
): Promise<ConnectedOrganization> {
  const token = aToken(
    sim,
    options.userId,
    options.scopes,
    options.tokenExpiresAt === undefined ? {} : { expiresAt: options.tokenExpiresAt },
  ).token;
  const synced = nextJob(t, 'repositories.sync');
  const connected = await t.gql(
    `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`,
    {
      i: {
        method: 'PERSONAL_ACCESS_TOKEN',
        instanceUrl: sim.url,
        login: options.login ?? 'alice',
        personalAccessToken: token,
        namespacePath: options.namespacePath,
        ...(options.includeGroups === undefined ? {} : { includeGroups: options.includeGroups }),
        ...(options.repoSyncSchedule ? { repoSyncSchedule: options.repoSyncSchedule } : {}),
        ...(options.caCertificate ? { caCertificate: options.caCertificate } : {}),
      },
    },
  );
  expect(connected.errors).toBeUndefined();
  await synced;
  const connectionId = connected.data.connectGitLab.connection.id as string;
  const organizations = await t.gql(`query($c: ID) { organizations(connectionId: $c) { id fullPath } }`, {
    c: connectionId,
  });
  const organization = organizations.data.organizations.find(
    (o: { fullPath: string }) => o.fullPath === options.namespacePath,
  );
  return { connectionId, organizationId: organization.id, token };
}
