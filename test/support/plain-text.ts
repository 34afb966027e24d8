/**
 * "No screen shows a raw HTTP URL, a GraphQL operation name or a database message": a watcher
 * installed in every page of an e2e browser context reads each piece of text as it appears (a
 * MutationObserver over the whole document, so messages that show for a moment count too) and
 * records what breaks the rule. `expectPlainScreens` fails a test with what was seen, and where.
 *
 * Text meant to be copied or read as a detail is allowed: inside `<code>`, `<pre>`, form fields,
 * and the body of a `<details>` disclosure (details one click away). An instance's bare origin
 * (`https://gitlab.example.com`) names the instance and is allowed; a URL with a path or a query
 * (an API request, a callback) is not.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

export interface PlainTextViolation {
  rule: string;
  text: string;
  path: string;
}

/** camelCase root fields of the schema (`authorizeRestore`, `restoreSnapshot`…): API operation names. */
function operationNames(): string[] {
  const sdl = readFileSync(join(process.cwd(), 'schema', 'schema.graphql'), 'utf8');
  const names = new Set<string>();
  for (const root of ['Query', 'Mutation', 'Subscription']) {
    const body = new RegExp(`^type ${root} \\{([\\s\\S]*?)^\\}`, 'm').exec(sdl)?.[1] ?? '';
    for (const match of body.matchAll(/^ {2}([a-z]\w*)[(:]/gm)) if (/[A-Z]/.test(match[1])) names.add(match[1]);
  }
  return [...names];
}

/** Runs in the page: the rules and the observer. Kept self-contained (it is serialized). */
function installWatcher({ operations, origin }: { operations: string[]; origin: string }) {
  // Only Labkeeper's own screens: a pop-up showing GitLab's pages is GitLab's business.
  if (location.origin !== origin) return;
  const rules: [string, RegExp][] = [
    ['raw URL', /\bhttps?:\/\/[^\s/]+\/[^\s]*[\w=]/i],
    ['HTTP request line', /\b(GET|POST|PUT|DELETE|PATCH) \/[\w/]/],
    ['GraphQL operation name', new RegExp(`\\b(${operations.join('|')})\\b`)],
    ['GraphQL client prefix', /\[(GraphQL|Network)\]/],
    [
      'database message',
      /duplicate key value|violates (foreign key|unique|not-null|check) constraint|invalid input syntax for|relation "[^"]+" does not exist|syntax error at or near|QueryFailedError|ECONNREFUSED|EntityNotFound/i,
    ],
  ];
  const report = (window as unknown as { __reportPlainText?: (v: unknown) => Promise<void> }).__reportPlainText;
  const seen = new Set<string>();
  const allowed = (node: Node) =>
    !!(node.parentElement && node.parentElement.closest('code, pre, textarea, script, style, details > :not(summary)'));
  const check = (text: string) => {
    for (const [rule, pattern] of rules) {
      const match = pattern.exec(text);
      if (!match) continue;
      const key = `${rule}:${text}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const at = Math.max(0, match.index - 80);
      void report?.({ rule, text: text.slice(at, match.index + 120).trim(), path: location.pathname });
    }
  };
  const scan = (root: Node) => {
    if (root.nodeType === Node.TEXT_NODE) {
      if (!allowed(root)) check(root.textContent ?? '');
      return;
    }
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    for (let node: Node | null = root; node; node = walker.nextNode()) {
      if (node.nodeType === Node.TEXT_NODE) {
        if (!allowed(node)) check(node.textContent ?? '');
      } else if (node instanceof Element) {
        // Labels that screen readers read count as text too.
        for (const attribute of ['title', 'aria-label', 'placeholder']) {
          const value = node.getAttribute(attribute);
          if (value) check(value);
        }
      }
    }
  };
  const start = () => {
    scan(document.body);
    new MutationObserver((mutations) => {
      for (const m of mutations) {
        if (m.type === 'characterData') scan(m.target);
        else if (m.type === 'attributes') scan(m.target);
        else m.addedNodes.forEach((n) => scan(n));
      }
    }).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
      attributeFilter: ['title', 'aria-label', 'placeholder'],
    });
  };
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
}

const OPERATIONS = operationNames();

const VIOLATIONS = new WeakMap<BrowserContext, PlainTextViolation[]>();

/**
 * Installs the watcher in every page (and pop-up) this context opens from now on; what it finds
 * is kept here, across reloads. `context.close()` then fails with it (after closing), so every
 * test that opens a context checks every screen it showed without asking.
 */
export async function watchPlainText(context: BrowserContext, appUrl: string): Promise<void> {
  const found: PlainTextViolation[] = [];
  VIOLATIONS.set(context, found);
  await context.exposeBinding('__reportPlainText', (_source, violation: PlainTextViolation) => {
    found.push(violation);
  });
  await context.addInitScript(installWatcher, { operations: OPERATIONS, origin: new URL(appUrl).origin });
  const close = context.close.bind(context);
  context.close = async (options) => {
    // Let reports still in flight arrive (a page answers evaluate after earlier binding calls).
    await Promise.all(context.pages().map((p) => p.evaluate(() => 0).catch(() => 0)));
    await close(options);
    expectNoViolations(found);
  };
}

function expectNoViolations(violations: PlainTextViolation[]): void {
  if (violations.length === 0) return;
  const seen = violations.splice(0);
  throw new Error(
    `a screen showed text a user should not see:\n${seen.map((v) => `  ${v.path} — ${v.rule}: ${v.text}`).join('\n')}`,
  );
}

/** Fails with every raw URL, operation name or database message the context's pages showed so far. */
export async function expectPlainScreens(context: BrowserContext): Promise<void> {
  await Promise.all(context.pages().map((p) => p.evaluate(() => 0).catch(() => 0)));
  expectNoViolations(VIOLATIONS.get(context) ?? []);
}
