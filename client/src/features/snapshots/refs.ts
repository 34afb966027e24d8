/** Git refs and record changes the way people read them: "branch main", "tag v1.0", short commits. */
import { metadataTypeName } from '../../ui/format';

/** `refs/heads/main` → "main"; `refs/tags/v1` → "tag v1"; anything else as it is. */
export function refName(ref: string): string {
  if (ref.startsWith('refs/heads/')) return ref.slice('refs/heads/'.length);
  if (ref.startsWith('refs/tags/')) return `tag ${ref.slice('refs/tags/'.length)}`;
  return ref;
}

export function refKind(ref: string): 'branch' | 'tag' | 'ref' {
  if (ref.startsWith('refs/heads/')) return 'branch';
  if (ref.startsWith('refs/tags/')) return 'tag';
  return 'ref';
}

/** The sentence a force-move deserves, said plainly. */
export function forcedSentence(ref: string, options: { isProtected?: boolean; isDefault?: boolean } = {}): string {
  const notes = [
    options.isDefault ? 'It is the default branch.' : null,
    options.isProtected ? 'It is a protected branch.' : null,
  ].filter(Boolean);
  return [`${refName(ref)} was rewritten: the old commit is no longer in its history.`, ...notes].join(' ');
}

export const shortCommit = (sha: string | null | undefined) => (sha ? sha.slice(0, 8) : '—');

/** "1 added, 2 changed" (zeros left out); "no change" when all are zero. */
export function countsSentence(counts: { added: number; removed: number; changed?: number; moved?: number }): string {
  const parts = [
    counts.added ? `${counts.added} added` : null,
    counts.removed ? `${counts.removed} removed` : null,
    counts.moved ? `${counts.moved} moved` : null,
    counts.changed ? `${counts.changed} changed` : null,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : 'no change';
}

/** "Issues" → "issues" inside a sentence, keeping acronyms (CI/CD, LFS, SSH). */
export function metadataTypeInSentence(type: string): string {
  return metadataTypeName(type).replace(/^[A-Z][a-z]/, (m) => m.toLowerCase());
}
