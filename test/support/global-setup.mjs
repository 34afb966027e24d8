// One PostgreSQL for the whole test run: DATABASE_URL's server, or an embedded one started by a
// child process (test-postgres.ts). Each test file makes its own database (support/database.ts).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default async function globalSetup() {
  if (process.env.DATABASE_URL) {
    process.env.LABKEEPER_TEST_ADMIN_URL = process.env.DATABASE_URL;
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
}
