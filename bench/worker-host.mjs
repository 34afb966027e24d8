/**
 * A Labkeeper worker in its own process, for `--s3 --worker-process` (worker-process.ts starts
 * it): the compiled server (server/dist, `npm run build`), started as `npm run worker` starts it —
 * `startApp` with the worker and without the API — but with the benchmark's clock (real time plus
 * the offset the parent moves between passes), so that the API and the worker agree on the time.
 * Plain JavaScript on purpose: nothing is compiled at load, so its RSS is the worker's.
 *
 * argv: the env of the worker's config as JSON, the log file. IPC in: { offsetMs } and
 * { cmd: 'close' }. IPC out: { workerId } once the worker is registered and polling.
 */
import 'reflect-metadata';
import pino from 'pino';
import { startApp } from '../server/dist/app.js';
import { loadConfig } from '../server/dist/config/config.js';

const [envJson, logFile] = process.argv.slice(2);
let offsetMs = 0;
const clock = { now: () => new Date(Date.now() + offsetMs) };
const logger = pino({ level: 'info' }, pino.destination({ dest: logFile, sync: false }));
const app = await startApp({ config: loadConfig(JSON.parse(envJson)), logger, api: false, worker: true, clock });
process.on('message', (message) => {
  if (typeof message.offsetMs === 'number') offsetMs = message.offsetMs;
  if (message.cmd === 'close') void app.stop().finally(() => process.exit(0));
});
process.on('disconnect', () => void app.stop().finally(() => process.exit(0)));
process.send({ workerId: app.workerId });
