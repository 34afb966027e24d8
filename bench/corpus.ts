/**
 * The benchmark's corpus: bare repositories of mixed sizes, generated once with `git fast-import`
 * (one process per repository, no working tree) and cached under bench/.cache/ keyed by
 * CORPUS_VERSION and the size profile, so re-runs skip generation.
 *
 * Content is deterministic (seeded): code-like text that compresses like source code, files edited
 * a few lines at a time (so packs hold real deltas), plus incompressible binaries (AES-CTR keystream)
 * that are added and replaced across history. After the import each repository is repacked the
 * way GitLab's housekeeping leaves it: one pack with deltas (binaries marked -delta), a bitmap
 * index and packed refs.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { treeSize } from './measure.js';

/** Bump when the generator or the profiles change: the cache is keyed by it. */
export const CORPUS_VERSION = 'v1';

export type RepoKind = 'huge' | 'medium' | 'small';

export interface RepoSpec {
  name: string;
  /** Subgroup of the benchmark group the project lives in. */
  group: string;
  kind: RepoKind;
  seed: number;
  commits: number;
  textFiles: number;
  /** Lines per text file (≈40 bytes each). */
  textLines: [number, number];
  filesPerCommit: [number, number];
  /** Binary add/replace events spread over history, and their sizes in bytes. */
  binaries: number;
  binarySize: [number, number];
  branches: number;
  tags: number;
}

export interface CorpusRepo extends RepoSpec {
  /** Bare repository in the cache. */
  path: string;
  /** Bytes on disk of the repository directory. */
  sizeBytes: number;
  refs: number;
}

export interface Corpus {
  version: string;
  profile: 'quick' | 'full';
  dir: string;
  repos: CorpusRepo[];
  generatedInMs: number | null;
}

const GROUPS = ['platform', 'apps', 'tools', 'data'];

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rnd: () => number, [min, max]: [number, number]) => min + Math.floor(rnd() * (max - min + 1));
/** Log-uniform between min and max. */
const logUniform = (rnd: () => number, min: number, max: number) =>
  Math.round(Math.exp(Math.log(min) + rnd() * (Math.log(max) - Math.log(min))));

export function profile(kind: 'quick' | 'full'): RepoSpec[] {
  const rnd = prng(kind === 'quick' ? 7 : 42);
  const specs: RepoSpec[] = [];
  const MB = 1024 * 1024;
  const add = (s: Omit<RepoSpec, 'group' | 'seed'>) =>
    specs.push({ ...s, group: GROUPS[specs.length % GROUPS.length], seed: 1000 + specs.length * 7919 });
  if (kind === 'full') {
    // One ~200 MB repository: long history and big binaries (assets, vendored archives).
    add({
      name: 'monolith',
      kind: 'huge',
      commits: 3000,
      textFiles: 400,
      textLines: [40, 300],
      filesPerCommit: [1, 5],
      binaries: 110,
      binarySize: [600 * 1024, 3 * MB],
      branches: 12,
      tags: 40,
    });
    // A few of a few tens of MB with many branches and tags.
    for (let i = 0; i < 4; i++) {
      add({
        name: `service-${i + 1}`,
        kind: 'medium',
        commits: 900 + i * 150,
        textFiles: 300,
        textLines: [40, 250],
        filesPerCommit: [1, 4],
        binaries: 10 + i * 3,
        binarySize: [800 * 1024, 2 * MB],
        branches: 60,
        tags: 150,
      });
    }
    // Many small ones: 30 KB … 3 MB.
    for (let i = 0; i < 45; i++) {
      const target = logUniform(rnd, 30 * 1024, 3 * MB);
      const binaries = target > 400 * 1024 ? Math.max(1, Math.round((target * 0.6) / (400 * 1024))) : 0;
      add({
        name: `lib-${String(i + 1).padStart(2, '0')}`,
        kind: 'small',
        commits: int(rnd, [10, 400]),
        textFiles: int(rnd, [8, 80]),
        textLines: [20, 200],
        filesPerCommit: [1, 3],
        binaries,
        binarySize: [200 * 1024, 600 * 1024],
        branches: int(rnd, [1, 6]),
        tags: int(rnd, [0, 10]),
      });
    }
  } else {
    add({
      name: 'monolith',
      kind: 'huge',
      commits: 500,
      textFiles: 100,
      textLines: [40, 300],
      filesPerCommit: [1, 4],
      binaries: 8,
      binarySize: [700 * 1024, 1400 * 1024],
      branches: 6,
      tags: 10,
    });
    add({
      name: 'service-1',
      kind: 'medium',
      commits: 300,
      textFiles: 80,
      textLines: [40, 250],
      filesPerCommit: [1, 4],
      binaries: 4,
      binarySize: [700 * 1024, 1200 * 1024],
      branches: 30,
      tags: 60,
    });
    for (let i = 0; i < 8; i++) {
      add({
        name: `lib-${String(i + 1).padStart(2, '0')}`,
        kind: 'small',
        commits: int(rnd, [10, 150]),
        textFiles: int(rnd, [8, 40]),
        textLines: [20, 200],
        filesPerCommit: [1, 3],
        binaries: int(rnd, [0, 2]),
        binarySize: [150 * 1024, 500 * 1024],
        branches: int(rnd, [1, 4]),
        tags: int(rnd, [0, 5]),
      });
    }
  }
  return specs;
}

// ---- content ------------------------------------------------------------------------------

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ne',
  'ru',
  'ta',
  'zo',
  'pe',
  'qui',
  'sha',
  'tor',
  'ven',
  'dal',
  'rix',
  'mon',
  'bel',
  'cor',
  'fin',
  'gar',
  'hul',
];
const KEYWORDS = [
  'const',
  'let',
  'return',
  'if',
  'else',
  'for',
  'function',
  'await',
  'async',
  'import',
  'export',
  'new',
  'this',
  'null',
  'true',
  'false',
];

function vocabulary(rnd: () => number, size: number): string[] {
  const words: string[] = [];
  for (let i = 0; i < size; i++) {
    const n = 1 + Math.floor(rnd() * 3);
    let w = '';
    for (let j = 0; j < n; j++) w += SYLLABLES[Math.floor(rnd() * SYLLABLES.length)];
    if (rnd() < 0.3) w += SYLLABLES[Math.floor(rnd() * SYLLABLES.length)].toUpperCase();
    words.push(w);
  }
  return words;
}

class TextGen {
  private readonly words: string[];
  constructor(private readonly rnd: () => number) {
    this.words = vocabulary(rnd, 3000);
  }
  word(): string {
    // Zipf-like: common words far more often, as identifiers are in code.
    const r = this.rnd();
    return this.words[Math.floor(r * r * r * this.words.length)];
  }
  line(): string {
    const rnd = this.rnd;
    const indent = '  '.repeat(Math.floor(rnd() * 4));
    const shape = rnd();
    if (shape < 0.08) return '';
    if (shape < 0.18) return `${indent}// ${this.word()} ${this.word()} ${this.word()} ${this.word()} ${this.word()}`;
    if (shape < 0.3) return `${indent}}`;
    const kw = KEYWORDS[Math.floor(rnd() * KEYWORDS.length)];
    const args = Array.from({ length: Math.floor(rnd() * 4) }, () =>
      rnd() < 0.2 ? String(Math.floor(rnd() * 1000)) : this.word(),
    ).join(', ');
    return `${indent}${kw} ${this.word()}_${this.word()} = ${this.word()}.${this.word()}(${args});`;
  }
  lines(n: number): string[] {
    return Array.from({ length: n }, () => this.line());
  }
}

/** Incompressible, deterministic bytes. */
function binaryBytes(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return cipher.update(Buffer.alloc(size));
}

// ---- fast-import --------------------------------------------------------------------------

class FastImport {
  private readonly child;
  private marks = 0;
  private readonly done: Promise<void>;
  private stderr = '';
  constructor(repo: string) {
    this.child = spawn('git', ['fast-import', '--quiet', '--date-format=raw'], {
      cwd: repo,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    this.child.stderr.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.done = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`git fast-import failed (${code}): ${this.stderr}`)),
      );
    });
  }
  async write(chunk: string | Buffer): Promise<void> {
    if (!this.child.stdin.write(chunk)) await once(this.child.stdin, 'drain');
  }
  async blob(content: Buffer): Promise<number> {
    const mark = ++this.marks;
    await this.write(`blob\nmark :${mark}\ndata ${content.length}\n`);
    await this.write(content);
    await this.write('\n');
    return mark;
  }
  async commit(
    ref: string,
    c: { time: number; message: string; from?: number; changes: [path: string, mark: number][] },
  ): Promise<number> {
    const mark = ++this.marks;
    const msg = Buffer.from(c.message);
    let head = `commit ${ref}\nmark :${mark}\nauthor Bench Author <author@example.com> ${c.time} +0000\ncommitter Bench Author <author@example.com> ${c.time} +0000\ndata ${msg.length}\n${c.message}\n`;
    if (c.from) head += `from :${c.from}\n`;
    for (const [path, blob] of c.changes) head += `M 100644 :${blob} ${path}\n`;
    await this.write(`${head}\n`);
    return mark;
  }
  async tag(name: string, commit: number, time: number, message: string | null): Promise<void> {
    if (message === null) {
      await this.write(`reset refs/tags/${name}\nfrom :${commit}\n\n`);
      return;
    }
    await this.write(
      `tag ${name}\nfrom :${commit}\ntagger Bench Release <release@example.com> ${time} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n`,
    );
  }
  async end(): Promise<void> {
    this.child.stdin.end('done\n');
    await this.done;
  }
}

const gitSync = (cwd: string, args: string[]) =>
  execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });

export async function generateRepository(spec: RepoSpec, path: string): Promise<void> {
  rmSync(path, { recursive: true, force: true });
  execFileSync('git', ['init', '--bare', '--quiet', '--initial-branch=main', path]);
  const rnd = prng(spec.seed);
  const text = new TextGen(rnd);
  const fi = new FastImport(path);
  const start = 1_700_000_000; // Nov 2023
  let time = start;
  const dirs = Array.from({ length: Math.max(1, Math.round(spec.textFiles / 20)) }, (_, i) => `src/${text.word()}${i}`);
  const files = Array.from({ length: spec.textFiles }, (_, i) => ({
    path: `${dirs[i % dirs.length]}/${text.word()}_${i}.ts`,
    lines: text.lines(int(rnd, spec.textLines)),
  }));
  const content = (f: { lines: string[] }) => Buffer.from(`${f.lines.join('\n')}\n`);
  const edit = (f: { lines: string[] }) => {
    const n = 1 + Math.floor(rnd() * 5);
    for (let k = 0; k < n; k++) {
      const at = Math.floor(rnd() * f.lines.length);
      if (rnd() < 0.6) f.lines[at] = text.line();
      else f.lines.splice(at, 0, ...text.lines(1 + Math.floor(rnd() * 3)));
    }
  };

  // Initial commit with every text file.
  const initial: [string, number][] = [];
  for (const f of files) initial.push([f.path, await fi.blob(content(f))]);
  initial.push(['README.md', await fi.blob(Buffer.from(`# ${spec.name}\n\n${text.lines(20).join('\n')}\n`))]);
  const main: number[] = [await fi.commit('refs/heads/main', { time, message: 'Initial commit', changes: initial })];

  const binaryEvery = spec.binaries > 0 ? Math.max(1, Math.floor((spec.commits - 1) / spec.binaries)) : Infinity;
  const binaryPaths: string[] = [];
  let binaryEvents = 0;
  for (let i = 1; i < spec.commits; i++) {
    time += 600 + Math.floor(rnd() * 36_000);
    const changes: [string, number][] = [];
    const count = int(rnd, spec.filesPerCommit);
    for (let k = 0; k < count; k++) {
      const f = files[Math.floor(rnd() * files.length)];
      edit(f);
      changes.push([f.path, await fi.blob(content(f))]);
    }
    if (i % binaryEvery === 0 && binaryEvents < spec.binaries) {
      const replace = binaryPaths.length > 0 && rnd() < 0.4;
      const p = replace
        ? binaryPaths[Math.floor(rnd() * binaryPaths.length)]
        : `assets/${text.word()}-${binaryPaths.length}.bin`;
      if (!replace) binaryPaths.push(p);
      changes.push([p, await fi.blob(binaryBytes(`${spec.seed}:${binaryEvents}`, int(rnd, spec.binarySize)))]);
      binaryEvents++;
    }
    main.push(
      await fi.commit('refs/heads/main', {
        time,
        message: `${text.word()}: ${text.word()} ${text.word()} ${text.word()}`,
        changes,
      }),
    );
  }

  // Branches from recent-ish points of main, each with a few commits of its own.
  for (let b = 0; b < spec.branches; b++) {
    const r = rnd();
    let from = main[Math.floor((1 - r * r) * (main.length - 1))];
    const ref = `refs/heads/${b % 3 === 0 ? 'release' : 'feature'}/${text.word()}-${b}`;
    const commits = 1 + Math.floor(rnd() * 4);
    for (let c = 0; c < commits; c++) {
      const f = files[Math.floor(rnd() * files.length)];
      const copy = { lines: [...f.lines] };
      edit(copy);
      from = await fi.commit(ref, {
        time: time + b * 60 + c,
        message: `wip ${text.word()}`,
        from,
        changes: [[f.path, await fi.blob(content(copy))]],
      });
    }
  }
  // Tags spread over main; every other one annotated.
  for (let t = 0; t < spec.tags; t++) {
    const at = main[Math.floor(((t + 1) / (spec.tags + 1)) * (main.length - 1))];
    await fi.tag(`v${Math.floor(t / 10)}.${t % 10}.0`, at, start + t * 86_400, t % 2 === 0 ? `Release ${t}\n` : null);
  }
  await fi.end();

  // GitLab-like housekeeping: one pack with real deltas (binaries are not delta candidates),
  // a bitmap, packed refs.
  writeFileSync(join(path, 'info', 'attributes'), '*.bin -delta\n');
  gitSync(path, ['repack', '-a', '-d', '-f', '-b', '-q', '--window=10', '--depth=50']);
  gitSync(path, ['pack-refs', '--all']);
  gitSync(path, ['config', 'http.receivepack', 'true']);
  gitSync(path, ['config', 'uploadpack.allowAnySHA1InWant', 'true']);
}

/** The cached corpus, generated first when missing. */
export async function loadCorpus(
  cacheRoot: string,
  which: 'quick' | 'full',
  log: (line: string) => void,
): Promise<Corpus> {
  const dir = join(cacheRoot, `corpus-${CORPUS_VERSION}-${which}`);
  const index = join(dir, 'corpus.json');
  if (existsSync(index)) return { ...(JSON.parse(readFileSync(index, 'utf8')) as Corpus), dir };
  const specs = profile(which);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const started = Date.now();
  log(`generating the ${which} corpus (${specs.length} repositories) into ${dir} — once; later runs reuse it`);
  const repos: CorpusRepo[] = [];
  // Two at a time: generation is CPU-bound (fast-import, then repack).
  const queue = [...specs].sort((a, b) => (a.kind === 'huge' ? -1 : b.kind === 'huge' ? 1 : 0));
  await Promise.all(
    [0, 1].map(async () => {
      for (let spec = queue.shift(); spec; spec = queue.shift()) {
        const path = join(tmp, `${spec.name}.git`);
        const t = Date.now();
        await generateRepository(spec, path);
        const refs = gitSync(path, ['for-each-ref', '--format=%(refname)']).trim().split('\n').filter(Boolean).length;
        repos.push({ ...spec, path: `${spec.name}.git`, sizeBytes: treeSize(path).apparent, refs });
        if (spec.kind !== 'small')
          log(
            `  ${spec.name}: ${(treeSize(path).apparent / 1024 / 1024).toFixed(1)} MiB, ${refs} refs in ${((Date.now() - t) / 1000).toFixed(1)} s`,
          );
      }
    }),
  );
  repos.sort((a, b) => a.name.localeCompare(b.name));
  const corpus: Corpus = { version: CORPUS_VERSION, profile: which, dir, repos, generatedInMs: Date.now() - started };
  writeFileSync(join(tmp, 'corpus.json'), JSON.stringify({ ...corpus, dir: undefined }, null, 2));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  log(
    `corpus ready: ${(repos.reduce((n, r) => n + r.sizeBytes, 0) / 1024 / 1024).toFixed(1)} MiB in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return corpus;
}
