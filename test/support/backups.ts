/**
 * Running a backup from a test the way a client would: subscribe to `backupProgress` over
 * graphql-ws, wait until the server side listens, call `runNow`, and resolve with the run's
 * terminal event.
 */
import { subscribe, untilListening, type TestApp } from './app.js';
import { EVENT_TIMEOUT_MS } from './timeouts.js';

export interface FinishedRun {
  runId: string;
  status: string;
  /** When the run did not succeed: each item that did not, with its status, error and warnings (for the test's message). */
  problems: string[];
}

export async function runBackup(
  t: TestApp,
  organizationId: string,
  input: { copyType?: string } = {},
  timeoutMs = EVENT_TIMEOUT_MS,
): Promise<FinishedRun> {
  const sub = subscribe<{ backupProgress: { runId: string; isTerminal: boolean; runStatus: string } }>(
    t.ws(),
    `subscription($o: ID) { backupProgress(organizationId: $o) { runId isTerminal runStatus } }`,
    { o: organizationId },
  );
  await untilListening(
    sub,
    () =>
      t.app.pubSub.publish('BACKUP_PROGRESS', {
        organizationId,
        runId: 'probe',
        runStatus: 'QUEUED',
        itemsTotal: 0,
        itemsDone: 0,
        itemsFailed: 0,
        item: null,
        isTerminal: false,
        at: '',
      }),
    (e) => e.backupProgress.runId === 'probe',
  );
  const run = await t.gql(`mutation($i: RunNowInput!) { runNow(input: $i) { id } }`, {
    i: { organizationId, ...input },
  });
  if (run.errors) throw new Error(`runNow failed: ${JSON.stringify(run.errors)}`);
  const runId = run.data.runNow.id as string;
  const done = await sub.next((e) => e.backupProgress.runId === runId && e.backupProgress.isTerminal, timeoutMs);
  sub.dispose();
  const status = done.backupProgress.runStatus;
  return { runId, status, problems: status === 'SUCCEEDED' ? [] : await itemProblems(t, runId) };
}

async function itemProblems(t: TestApp, runId: string): Promise<string[]> {
  const r = await t.gql(
    `query($id: ID!) { backupRun(id: $id) { items { pathWithNamespace status errorMessage warnings } } }`,
    { id: runId },
  );
  const items = (r.data?.backupRun?.items ?? []) as {
    pathWithNamespace: string;
    status: string;
    errorMessage: string | null;
    warnings: string[];
  }[];
  return items
    .filter((i) => i.status !== 'SUCCEEDED' && i.status !== 'UNCHANGED')
    .map((i) => `${i.pathWithNamespace}: ${i.status} ${i.errorMessage ?? ''} ${i.warnings.join('; ')}`.trim());
}

/** The policy's settings as `customizePolicy` takes them back. */
const POLICY_SETTINGS = `query($o: ID!) { policy(organizationId: $o) { settings { scope { mode } include { repository wiki lfs metadata groupMetadata } schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } storage { kind path } compression verifyAfterBackup } } }`;

/** Customizes the organization's policy: `change` gets its current settings and returns the new ones. */
export async function customizePolicy(
  t: TestApp,
  organizationId: string,
  change: (current: Record<string, any>) => Record<string, unknown>,
): Promise<void> {
  const current = (await t.gql(POLICY_SETTINGS, { o: organizationId })).data.policy.settings;
  await t.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`,
    { o: organizationId, i: change(current) },
  );
}
