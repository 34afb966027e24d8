/**
 * The system `git`, run as a child process. Credentials never go into URLs or arguments (both
 * are visible in `ps` and in git's own messages): an HTTP Authorization header is handed over
 * through GIT_CONFIG_COUNT/KEY/VALUE environment variables (git ≥ 2.31). Prompts are disabled.
 * Errors carry git's stderr with anything credential-like removed.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { fromGitCommandFailure, transferCanceled } from '../gitlab/gitlab.errors.js';
import { withRenewal, type GitAuth } from '../gitlab/gitlab-http.js';
import { proxyEnv } from '../shared/http-proxy.js';
import { redactSecrets } from '../gitlab/redact.js';
import { DomainError } from '../shared/errors.js';

export interface GitProgress {
  phase: string; // "Receiving objects", "Resolving deltas", …
  percent: number | null;
  objects: number | null;
  totalObjects: number | null;
  bytes: number | null;
}

export interface GitOptions {
  cwd?: string;
  /**
   * Basic-auth credentials for the remote, sent as an extra HTTP header through the environment;
   * with the PEM of a private CA the remote's certificate is signed by (self-managed instances).
   * When GitLab refuses them (401) and they can be renewed (OAuth), the command runs once more
   * with the renewed token.
   */
  auth?: (GitAuth & { caCertificate?: string | null }) | null;
  signal?: AbortSignal;
  onProgress?: (progress: GitProgress) => void;
  input?: string;
  /** Extra environment (never logged). */
  env?: Record<string, string>;
}

export class GitError extends DomainError {}

const UNITS: Record<string, number> = { bytes: 1, byte: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** Parses one line of git's --progress output. */
export function parseProgress(line: string): GitProgress | null {
  const m = /^(?:remote: )?([A-Za-z ]+):\s+(\d+)% \((\d+)\/(\d+)\)(?:, ([\d.]+) (bytes?|KiB|MiB|GiB))?/.exec(
    line.trim(),
  );
  if (!m) return null;
  return {
    phase: m[1].trim(),
    percent: Number(m[2]),
    objects: Number(m[3]),
    totalObjects: Number(m[4]),
    bytes: m[5] ? Math.round(Number(m[5]) * (UNITS[m[6]] ?? 1)) : null,
  };
}

/** The one redactor (gitlab/redact.ts), under the name git's callers know. */
export const redact = redactSecrets;

export function authEnv(auth: GitOptions['auth']): Record<string, string> {
  if (!auth) return {};
  const basic = Buffer.from(`${auth.username}:${auth.password}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    ...(auth.caCertificate ? { GIT_SSL_CAINFO: caBundleFile(auth.caCertificate) } : {}),
    ...proxyEnv(auth.proxy),
  };
}

/**
 * A CA bundle file for git (GIT_SSL_CAINFO replaces git's own): the public roots Node trusts plus
 * the private CA. Named by its content (certificates are public), written once, then reused.
 */
function caBundleFile(pem: string): string {
  const body = `${[...rootCertificates, pem.trim()].join('\n')}\n`;
  const file = join(tmpdir(), `labkeeper-ca-${createHash('sha256').update(body).digest('hex').slice(0, 24)}.pem`);
  if (!existsSync(file)) {
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, body, { mode: 0o644 });
    renameSync(temp, file);
  }
  return file;
}

/**
 * The environment of every git Labkeeper runs: it never prompts (no terminal, no askpass, no
 * credential manager), speaks the C locale (its messages are parsed), and carries the connection's
 * credentials as an extra header (authEnv), never in a URL or an argument.
 */
export function gitEnv(auth?: GitOptions['auth'], extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: 'echo',
    GCM_INTERACTIVE: 'never',
    LC_ALL: 'C',
    ...authEnv(auth),
    ...extra,
  };
}

export function git(args: string[], options: GitOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return withRenewal(options.auth, () => runGit(args, options));
}

async function runGit(args: string[], options: GitOptions): Promise<{ stdout: string; stderr: string }> {
  const child = spawn('git', args, {
    cwd: options.cwd,
    env: gitEnv(options.auth, options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const onAbort = () => child.kill('SIGTERM');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const out: Buffer[] = [];
  let err = '';
  let pending = '';
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => {
    const text = c.toString('utf8');
    err = (err + text).slice(-64 * 1024);
    if (!options.onProgress) return;
    pending += text;
    const parts = pending.split(/[\r\n]/);
    pending = parts.pop() ?? '';
    for (const part of parts) {
      const progress = parseProgress(part);
      if (progress) options.onProgress(progress);
    }
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  }).finally(() => options.signal?.removeEventListener('abort', onAbort));
  if (options.signal?.aborted) throw transferCanceled(`git ${args[0]}`);
  if (code !== 0) {
    if (['clone', 'fetch', 'ls-remote', 'push'].includes(args[0])) throw fromGitCommandFailure(args[0], err, code);
    const message = redact(err.trim().split('\n').slice(-5).join(' | ')) || `exit code ${code}`;
    throw new GitError('GIT_FAILED', `git ${args[0]} failed: ${message}`, { details: { exitCode: code } });
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: err };
}
