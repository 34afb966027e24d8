#!/usr/bin/env node
/**
 * Builds what `npm start` and `npm run worker` run: the server compiled to JavaScript by tsc
 * (server/src → server/dist, decorator metadata included) and the web client by Vite
 * (client → client/dist). No TypeScript is transpiled at run time.
 *
 *   node scripts/build.mjs                      build both (the image does this when it is built)
 *   node scripts/build.mjs --if-stale [server|client]
 *       build only a part whose sources changed since its last build (prestart/preworker): a tree
 *       that is already built — the image — is only read, never written.
 *
 * A finished build leaves a `.built` stamp in its output folder; a part is stale when the stamp is
 * missing or older than one of its sources.
 */
import { spawn } from 'node:child_process';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (path) => join(root, 'node_modules', path);

const parts = {
  server: {
    out: join(root, 'server/dist'),
    sources: ['server/src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'],
    command: [bin('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
    // tsc does not delete the output of a removed source file: start from an empty folder.
    clean: true,
  },
  client: {
    out: join(root, 'client/dist'),
    sources: ['client', 'schema/schema.graphql', 'package-lock.json'],
    command: [bin('vite/bin/vite.js'), 'build', '--config', join(root, 'client/vite.config.ts'), '--logLevel', 'warn'],
    clean: false, // Vite empties client/dist itself
  },
};

const args = process.argv.slice(2);
const ifStale = args.includes('--if-stale');
const wanted = args.filter((a) => !a.startsWith('--'));
for (const name of wanted) {
  if (!(name in parts)) {
    console.error(`unknown part "${name}" (server, client)`);
    process.exit(2);
  }
}

/** Newest modification time under the given paths (folders walked; a part's own output skipped). */
function newestMtime(paths, skip) {
  let newest = 0;
  const visit = (path) => {
    let info;
    try {
      info = statSync(path);
    } catch {
      return; // an optional source (e.g. no lockfile)
    }
    if (info.isDirectory()) {
      if (path === skip || path.endsWith('/node_modules')) return;
      for (const entry of readdirSync(path)) visit(join(path, entry));
    } else newest = Math.max(newest, info.mtimeMs);
  };
  for (const p of paths) visit(join(root, p));
  return newest;
}

function isStale(part) {
  let built;
  try {
    built = statSync(join(part.out, '.built')).mtimeMs;
  } catch {
    return true;
  }
  return newestMtime(part.sources, part.out) > built;
}

function run([script, ...rest]) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...rest], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${script} ${rest[0] ?? ''} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}

const names = wanted.length > 0 ? wanted : Object.keys(parts);
try {
  await Promise.all(
    names.map(async (name) => {
      const part = parts[name];
      if (ifStale && !isStale(part)) return;
      console.error(`building the ${name} (${name === 'server' ? 'tsc → server/dist' : 'Vite → client/dist'})…`);
      if (part.clean) rmSync(part.out, { recursive: true, force: true });
      await run(part.command);
      writeFileSync(join(part.out, '.built'), `${new Date().toISOString()}\n`);
    }),
  );
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
