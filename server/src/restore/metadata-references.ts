/**
 * Text a restore writes into GitLab: the header that keeps what the API cannot set (the original
 * author and date), and the rewriting of GitLab references to the numbers the records got in the
 * target project.
 *
 * References rewritten (GitLab's reference syntax, doc/user/markdown.md#gitlab-specific-references):
 * `#123` issue, `!123` merge request, `%123` milestone by iid, `~123` label by id, `&123` epic by
 * iid (each caller's resolver says which it knows; the others stay as written). Named ones
 * (`%"v1.0"`, `~bug`) need nothing: titles and names are restored unchanged. References to another
 * project (`group/project#12`), inside code (fenced blocks, inline code) or in URLs are left alone,
 * and so is a reference whose record was not restored (it is kept as written).
 * `rewriteQualifiedReferences` rewrites the project-qualified ones (`app#12`, `acme/app!4`) when
 * its resolver knows the project and record: epics' descriptions, once the run's projects are
 * restored (epic-restore.ts).
 */
import type { MetadataRecord } from '../gitlab/metadata.port.js';

/** Resolves one reference to its new text (e.g. `#7`), or null to leave it unchanged. */
export type ReferenceResolver = (sigil: ReferenceSigil, number: number) => Promise<string | null>;
export type ReferenceSigil = '#' | '!' | '%' | '~' | '&';

// A reference starts a word: not preceded by a word character, a slash (project paths, URLs),
// or another sigil.
const REFERENCE = /(^|[^\w/#!%~&.-])([#!%~&])(\d+)\b/g;
const CODE = /(```[\s\S]*?```|`[^`\n]*`)/;

export function rewriteReferences(text: string, resolve: ReferenceResolver): Promise<string> {
  return replaceOutsideCode(text, REFERENCE, ([, , sigil, digits]) => resolve(sigil as ReferenceSigil, Number(digits)));
}

/**
 * Each match of `pattern` (whose first group is the character before the reference, kept) outside
 * code, replaced by what `replace` answers for it, or kept as written when it answers null.
 */
async function replaceOutsideCode(
  text: string,
  pattern: RegExp,
  replace: (match: RegExpMatchArray) => Promise<string | null>,
): Promise<string> {
  const parts = text.split(CODE);
  const out: string[] = [];
  for (let i = 0; i < parts.length; i += 1) {
    const part = parts[i];
    if (i % 2 === 1) {
      out.push(part);
      continue;
    }
    let result = '';
    let last = 0;
    for (const match of part.matchAll(pattern)) {
      const [whole, before] = match;
      const start = match.index + before.length;
      result += part.slice(last, start) + ((await replace(match)) ?? whole.slice(before.length));
      last = match.index + whole.length;
    }
    out.push(result + part.slice(last));
  }
  return out.join('');
}

// A project-qualified reference (`app#12`, `acme/app!4`): a path of one or more segments right
// before the sigil, not itself preceded by a word character, a slash, a dot or a scheme's colon.
const QUALIFIED = /(^|[^\w/.:@~-])((?:[\w.-]+\/)*[\w.-]+)([#!])(\d+)\b/g;

/** Resolves `path` + sigil + number to its new text, or null to leave it unchanged. */
export type QualifiedResolver = (path: string, sigil: '#' | '!', number: number) => Promise<string | null>;

/** Whether `text` holds a project-qualified reference outside code. */
export function hasQualifiedReferences(text: string): boolean {
  return text.split(CODE).some((part, i) => i % 2 === 0 && new RegExp(QUALIFIED.source).test(part));
}

/** Rewrites project-qualified references (`app#12`, `acme/app!4`) outside code, as `resolve` says. */
export function rewriteQualifiedReferences(text: string, resolve: QualifiedResolver): Promise<string> {
  return replaceOutsideCode(text, QUALIFIED, ([, , path, sigil, digits]) =>
    resolve(path, sigil as '#' | '!', Number(digits)),
  );
}

/** `@alice`, or "an unknown user" when the record names no author. */
export function authorOf(record: MetadataRecord): string {
  const author = record.author;
  const username =
    author !== null && typeof author === 'object' ? (author as Record<string, unknown>).username : undefined;
  return typeof username === 'string' && username ? `@${username}` : 'an unknown user';
}

export function dayOf(value: unknown): string | null {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? value.slice(0, 10) : null;
}

/**
 * `*Originally by @alice on 2026-01-02 (restored by Labkeeper from #12)*` — `from` names the source
 * record (`#12`, `!3`); `extra` adds facts before the parenthesis (", merged on …"). With
 * `authorKept` (the record was written as its author): `*Created on 2026-01-02 (restored by Labkeeper from #12)*`.
 */
export function originHeader(record: MetadataRecord, from: string | null, extra = '', authorKept = false): string {
  const day = dayOf(record.created_at);
  const on = day ? ` on ${day}` : '';
  const source = from ? ` from ${from}` : '';
  // Written as its author (Sudo): GitLab shows who; the header keeps the date and the origin marker.
  if (authorKept) return `*Created${on}${extra} (restored by Labkeeper${source})*`;
  return `*Originally by ${authorOf(record)}${on}${extra} (restored by Labkeeper${source})*`;
}

/** The marker a restored issue's description carries, to find it again after a crash. */
export function originMarker(from: string): RegExp {
  const escaped = from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`\\(restored by Labkeeper from ${escaped}(?![0-9])`);
}

export function withHeader(header: string, body: string): string {
  return body ? `${header}\n\n${body}` : header;
}
