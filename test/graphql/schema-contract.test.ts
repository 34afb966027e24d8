import { readFile } from 'node:fs/promises';
import { createPubSub } from '@graphql-yoga/subscription';
import { describe, expect, it } from '@jest/globals';
import { buildLabkeeperSchema, printContract } from '../../server/src/graphql/schema.js';

describe('schema/schema.graphql', () => {
  it('is exactly the SDL the resolvers emit (run `npm run schema:emit` after a deliberate change)', async () => {
    const emitted = printContract(await buildLabkeeperSchema(createPubSub()));
    const contract = await readFile(new URL('../../schema/schema.graphql', import.meta.url), 'utf8');
    expect(emitted).toBe(contract);
  });
});
