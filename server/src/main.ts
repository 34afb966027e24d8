/** `npm start`: the API with an in-process worker; embedded PostgreSQL unless DATABASE_URL is set. */
import './shared/production-mode.js'; // first: libraries read NODE_ENV as they load
import { hostname } from 'node:os';
import { startApp } from './app.js';
import { loadConfigOrExit } from './config/config.js';
import { createLogger } from './shared/logger.js';
import { runUntilSignal } from './shared/process.js';

const config = loadConfigOrExit(process.env, hostname());
const logger = createLogger({ level: config.logLevel });
if (!process.env.LABKEEPER_WORKER_NAME) config.worker.name = 'default';

await runUntilSignal(logger, async () => {
  const app = await startApp({ config, logger, api: true, worker: true });
  const base = config.publicUrl;
  logger.info({ url: `${base}/graphql` }, 'Labkeeper is running');
  const lines = [
    '',
    `  Labkeeper is running: ${base}/`,
    `  GraphQL (HTTP and WebSocket): ${base}/graphql`,
    ...(app.bootstrapToken
      ? [
          '',
          '  First start: an admin API token was created. It is shown only now; keep it safe.',
          `  Sign in to the web client: ${base}/#token=${app.bootstrapToken}`,
          `  Or use it directly:        Authorization: Bearer ${app.bootstrapToken}`,
        ]
      : []),
    '',
    '  Stop with Ctrl+C.',
    '',
  ];
  process.stdout.write(lines.join('\n')); // one write: readers see the banner whole
  return app.stop;
});
