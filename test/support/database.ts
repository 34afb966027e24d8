import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const MIGRATIONS = fileURLToPath(new URL('../../server/src/db/migrations/', import.meta.url));
/** Any number for pg_advisory_lock, fixed so the test processes agree on it: one makes the template. */
const TEMPLATE_LOCK = 7_342_101;

/**
 * A fresh database on the test PostgreSQL; `drop()` removes it. Empty by default, as a new install
 * finds it (the first start migrates it). With `migrated`, a copy of a template database the
 * migrations ran on once: the app a test starts on it finds its schema up to date, as every start
 * after an install does, and skips the half second the migrations take.
 */
export async function createTestDatabase(
  options: { migrated?: boolean } = {},
): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = process.env.LABKEEPER_TEST_ADMIN_URL;
  if (!adminUrl) throw new Error('LABKEEPER_TEST_ADMIN_URL is not set: run the tests through jest (global setup)');
  const name = `lk_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const template = options.migrated ? await migratedTemplate(admin, adminUrl) : null;
    await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
  } finally {
    await admin.end();
  }
  return {
    url: databaseUrl(adminUrl, name),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * The template's name, made once under an advisory lock (the other test process waits for it). It
 * names the migrations' sources by their hash: DATABASE_URL's server keeps templates between runs,
 * and a changed migration gets a template of its own. It is built under another name and renamed
 * when migrated, so a run killed meanwhile leaves no half-made template behind.
 */
let madeTemplate: string | null = null;

async function migratedTemplate(admin: pg.Client, adminUrl: string): Promise<string> {
  if (madeTemplate) return madeTemplate; // this test file made or found it already
  const hash = createHash('sha256');
  for (const file of readdirSync(MIGRATIONS).sort()) hash.update(file).update(readFileSync(join(MIGRATIONS, file)));
  const template = `lk_template_${hash.digest('hex').slice(0, 16)}`;
  await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    if (found.rowCount === 0) {
      const building = `${template}_${randomBytes(3).toString('hex')}`;
      await admin.query(`CREATE DATABASE ${building}`);
      const { openDatabase } = await import('../../server/src/db/data-source.js');
      const dataSource = await openDatabase(databaseUrl(adminUrl, building));
      await dataSource.destroy();
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${template}`);
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
  }
  madeTemplate = template;
  return template;
}
