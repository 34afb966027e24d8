import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../server/src/db/data-source.js';
import { warmConnections } from '../../server/src/shared/warm-connections.js';
import { createTestDatabase } from '../support/database.js';

/** The pool's own count of the connections it holds open (pg-pool's totalCount). */
const openConnections = (dataSource: DataSource) =>
  (dataSource.driver as unknown as { master: { totalCount: number } }).master.totalCount;

describe('warming the connection pool before a run fans out', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataSource: DataSource;
  beforeAll(async () => {
    database = await createTestDatabase({ migrated: true });
    dataSource = await openDatabase(database.url, { poolSize: 5 });
  });
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  it('opens as many connections as asked, never more than the pool allows', async () => {
    const before = openConnections(dataSource);
    expect(before).toBeLessThan(3);
    await warmConnections(dataSource, 3);
    expect(openConnections(dataSource)).toBe(3);
    await warmConnections(dataSource, 8);
    expect(openConnections(dataSource)).toBe(5);
  });
});
