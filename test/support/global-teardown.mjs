// After the last test file: stop the test run's PostgreSQL, then make sure no process the tests
// started outlives the run.
//
// jest reads its workers' stdout and stderr through sockets; any process a test file started with
// an inherited stderr (a worker process, git's launcher) holds the other end. Left running after
// its jest worker ended, it keeps jest waiting for the end of that stream forever: a CI run once
// printed every suite as passed and then hung until its time limit. Such processes are named here
// (the leak is a bug to fix) and killed, so the run ends either way.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** How long jest may take to exit after this teardown before it is made to (see `exitIfStuck`). */
const EXIT_GRACE_MS = Number(process.env.LABKEEPER_TEST_EXIT_GRACE_MS ?? 60_000);

export default async function globalTeardown(globalConfig) {
  await stopTestPostgres();
  if (!globalConfig?.watch && !globalConfig?.watchAll) exitIfStuck(); // watch mode stays by design
  const leftovers = processesHoldingOurStreams();
  if (leftovers.length === 0) return;
  console.error(
    `\nThe tests left ${leftovers.length} process(es) running that hold jest's output streams open ` +
      `(jest would wait for them forever). Killed:\n` +
      leftovers.map((p) => `  pid ${p.pid}: ${p.command}`).join('\n'),
  );
  for (const { pid } of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * The last resort, for what keeps jest alive that is not a process (a handle this process itself
 * left open): past the grace period, name the handles still open and exit. jest's own `exit`
 * listener then sets the exit code of the run it reported (non-zero when a test failed). The timer
 * is unref'd: a run that ends on its own never meets it.
 */
function exitIfStuck() {
  setTimeout(() => {
    const open = process
      ._getActiveHandles()
      .filter((h) => h !== process.stdout && h !== process.stderr && h !== process.stdin)
      .map((h) => h?.constructor?.name ?? typeof h);
    console.error(
      `\njest had not exited ${EXIT_GRACE_MS / 1000} s after the last test file; still open: ` +
        `${open.join(', ') || 'nothing jest reports'}. Exiting with the run's result.`,
    );
    process.exit();
  }, EXIT_GRACE_MS).unref();
}

async function stopTestPostgres() {
  const child = globalThis.__labkeeperTestPostgres;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * Processes started after this one (so by the test run) that hold
 * - the far end of a Unix socket this process still reads (child stdio in Node is a socketpair;
 *   `ss` gives each socket's peer), or
 * - this process's own stdout or stderr, open for writing (inherited from a child: the CI runner
 *   reading this run's output would wait for them too).
 * Linux only (/proc); returns what it can find.
 */
function processesHoldingOurStreams() {
  const ancestors = ancestorsOf(process.pid);
  const ownStdio = new Set(fdTargetsOf(process.pid, (fd) => fd <= 2));
  const ourStart = startTimeOf(process.pid);
  const peers = new Set();
  const ours = new Set(fdTargetsOf(process.pid, (fd) => fd > 2));
  let table = '';
  try {
    table = execFileSync('ss', ['-xpnH'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    // no ss: only the stdio check below
  }
  for (const line of table.split('\n')) {
    const m = /^\S+\s+\S+\s+\d+\s+\d+\s+\S+\s+(\d+)\s+\S+\s+(\d+)/.exec(line);
    if (m && ours.has(`socket:[${m[1]}]`) && m[2] !== '0') peers.add(`socket:[${m[2]}]`);
  }
  const found = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid || ancestors.has(pid)) continue;
    // Only what the run started: whatever ran before jest (the CI runner, a daemon) is left alone.
    if (startTimeOf(pid) <= ourStart) continue;
    const holdsPeer = fdTargetsOf(pid, () => true).some((target) => peers.has(target));
    // A reader of our output (a `| tee`) is no leak: only writers keep it open.
    const holdsStdio = fdTargetsOf(pid, (fd) => canWrite(pid, fd)).some((target) => ownStdio.has(target));
    if (holdsPeer || holdsStdio) found.push({ pid, command: commandOf(pid) });
  }
  return found;
}

/** What the file descriptors of `pid` that pass `wanted` point at: socket:[N], pipe:[N]. */
function fdTargetsOf(pid, wanted) {
  const targets = [];
  let fds;
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return targets;
  }
  for (const fd of fds) {
    if (!wanted(Number(fd))) continue;
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (/^(socket|pipe):\[\d+\]$/.test(target)) targets.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return targets;
}

/** Whether `pid` opened its file descriptor `fd` for writing (O_WRONLY or O_RDWR). */
function canWrite(pid, fd) {
  try {
    const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    return flags !== null && (parseInt(flags[1], 8) & 3) !== 0;
  } catch {
    return false;
  }
}

function statFieldsOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
}

function startTimeOf(pid) {
  try {
    return Number(statFieldsOf(pid)[19]); // field 22: start time in clock ticks since boot
  } catch {
    return 0;
  }
}

function ancestorsOf(pid) {
  const found = new Set();
  for (let current = pid; current > 1;) {
    try {
      current = Number(statFieldsOf(current)[1]); // field 4: parent pid
    } catch {
      break;
    }
    found.add(current);
  }
  return found;
}

function commandOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 300);
  } catch {
    return '(gone)';
  }
}
