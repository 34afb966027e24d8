/**
 * A Labkeeper worker in its own process, for `--s3 --worker-process` (worker-process.ts starts
 * it): the compiled server (server/dist, `npm run build`), started as `npm run worker` starts it —
 * `startApp` with the worker and without the API — but with the benchmark's clock (real time plus
 * the offset the parent moves between passes), so that the API and the worker agree on the time.
 * Plain JavaScript on purpose: nothing is compiled at load, so its RSS is the worker's.
 *
 * argv: the env of the worker's config as JSON, the log file. IPC in: { offsetMs }, { cmd: 'peak-reset' } and
 * { cmd: 'close' }. IPC out: { workerId } once the worker is registered and polling.
 */
import 'reflect-metadata';
import { appendFileSync, readFileSync } from 'node:fs';
import { setInterval } from 'node:timers';
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
const memoryLog = process.env.LABKEEPER_BENCH_MEMORY_LOG;
if (memoryLog) {
  // process.memoryUsage() at every new RSS peak (sampled every 20 ms; the window restarts with each
  // pass), with the kernel's anonymous / file-backed split: which of the V8 heap, ArrayBuffers
  // (Buffers) or the rest grew.
  let peak = 0;
  const mib = (n) => (n / 1048576).toFixed(1);
  const kernel = () =>
    readFileSync('/proc/self/status', 'utf8')
      .split('\n')
      .filter((line) => /^Rss(Anon|File):/.test(line))
      .map((line) => line.replace(/\s+/g, ' '))
      .join(' ');
  setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss <= peak) return;
    peak = m.rss;
    const line = `rss ${mib(m.rss)} heapTotal ${mib(m.heapTotal)} heapUsed ${mib(m.heapUsed)} arrayBuffers ${mib(m.arrayBuffers)}`;
    appendFileSync(memoryLog, `${new Date().toISOString()} ${line} ${kernel()}\n`);
  }, 20).unref();
  process.on('message', (message) => {
    if (message.cmd === 'peak-reset') peak = 0;
  });
}
