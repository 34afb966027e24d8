export default async function globalTeardown() {
  const child = globalThis.__labkeeperTestPostgres;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
