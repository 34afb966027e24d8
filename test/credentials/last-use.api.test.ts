import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
let offsetMs = 0;
beforeAll(async () => {
  t = await startTestApp({ clock: { now: () => new Date(Date.parse('2026-06-01T12:00:00Z') + offsetMs) } });
});
afterAll(() => t.stop());

const lastUsedAt = async (id: string) =>
  (await t.gql(`{ credentials { id lastUsedAt } }`)).data.credentials.find((c: { id: string }) => c.id === id)
    .lastUsedAt as string | null;

describe("a credential's last use", () => {
  it('is recorded to the minute: uses within a minute of the recorded one write nothing, a later use moves it', async () => {
    const r = await t.gql(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id lastUsedAt } }`, {
      i: { name: 'used often', kind: 'PERSONAL_ACCESS_TOKEN', secret: 'glpat-used-often-1234' },
    });
    const { id, lastUsedAt: never } = r.data.createCredential;
    expect(never).toBeNull();

    await t.app.services.credentials.reveal(id);
    expect(await lastUsedAt(id)).toBe('2026-06-01T12:00:00.000Z');

    offsetMs = 59_000; // a backup run reveals the token once per repository
    expect(await t.app.services.credentials.reveal(id)).toBe('glpat-used-often-1234');
    expect(await lastUsedAt(id)).toBe('2026-06-01T12:00:00.000Z');

    offsetMs = 61_000;
    await t.app.services.credentials.reveal(id);
    expect(await lastUsedAt(id)).toBe('2026-06-01T12:01:01.000Z');
  });
});
