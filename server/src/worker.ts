/**
 * `npm run worker`: a worker process on its own (no API), against the same database as the API:
 * DATABASE_URL, or — on the machine that runs `npm start` — its embedded PostgreSQL.
 */
import './shared/production-mode.js'; // first: libraries read NODE_ENV as they load
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { startApp } from './app.js';
import { loadConfigOrExit } from './config/config.js';
import { createLogger } from './shared/logger.js';
import { runUntilSignal } from './shared/process.js';

const config = loadConfigOrExit(process.env, hostname());
const logger = createLogger({ level: config.logLevel });

if ('embedded' in config.database) {
  // Join the embedded PostgreSQL that `npm start` runs from the same data directory.
  const { dataDir, port } = config.database.embedded;
  const passwordFile = `${dataDir}.password`;
  if (!existsSync(passwordFile)) {
    console.error(
      'No DATABASE_URL and no embedded database in the data directory: start the API (npm start) first, or set DATABASE_URL.',
    );
    process.exit(2);
  }
  const password = encodeURIComponent(readFileSync(passwordFile, 'utf8').trim());
  config.database = { url: `postgres://postgres:${password}@127.0.0.1:${port}/labkeeper` };
}

await runUntilSignal(logger, async () => {
  const app = await startApp({ config, logger, api: false, worker: true });
  logger.info({ workerId: app.workerId, name: config.worker.name }, 'worker started');
  return app.stop;
});
