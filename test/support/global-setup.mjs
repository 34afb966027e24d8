// One PostgreSQL for the whole test run: DATABASE_URL's server, or an embedded one started by a
// child process (test-postgres.ts). Each test file makes its own database (support/database.ts).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The end-to-end tests load the built client from the server: build it from the current sources
 * (the same script as `npm start` and the image; skipped when client/dist is newer than them).
 */
function buildClient() {
  const script = fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, '--if-stale', 'client'], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`client build failed (exit ${code})`))));
  });
}

export default async function globalSetup() {
  const client = buildClient();
  if (process.env.DATABASE_URL) {
    process.env.LABKEEPER_TEST_ADMIN_URL = process.env.DATABASE_URL;
    await client;
    return;
  }
  const script = fileURLToPath(new URL('./test-postgres.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  globalThis.__labkeeperTestPostgres = child;
  process.env.LABKEEPER_TEST_ADMIN_URL = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /READY (\S+)/.exec(out);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`test PostgreSQL exited early (code ${code})`)));
  });
  await client;
}
