import { describe, expect, it } from '@jest/globals';
import {
  hasQualifiedReferences,
  originHeader,
  originMarker,
  rewriteQualifiedReferences,
  rewriteReferences,
  type QualifiedResolver,
  type ReferenceResolver,
} from '../../server/src/restore/metadata-references.js';

describe('rewriting GitLab references for a restored project', () => {
  const table: Record<string, string> = { '#3': '#1', '#4': '#2', '!1': '!7', '!2': '#9', '%1': '%5', '~10': '~42' };
  const resolve: ReferenceResolver = async (sigil, number) => table[`${sigil}${number}`] ?? null;

  it('rewrites issue, merge request, milestone and label references to their new numbers', async () => {
    expect(await rewriteReferences('See #3 and #4, fixed by !1 (also !2) in %1, labelled ~10.', resolve)).toBe(
      'See #1 and #2, fixed by !7 (also #9) in %5, labelled ~42.',
    );
  });

  it('rewrites a reference at the start of a line or of the text', async () => {
    expect(await rewriteReferences('#3\n!1 too', resolve)).toBe('#1\n!7 too');
  });

  it('leaves references in code, in URLs, to other projects and to unknown records alone', async () => {
    const text = 'Not `#3`, nor\n```\n#4 !1\n```\nnor other/project#3, https://x.test/a#3, 50%1, v1.0#3 or #99.';
    expect(await rewriteReferences(text, resolve)).toBe(text);
  });

  it('rewrites epic references when the resolver knows the epic, and leaves entities and query strings alone', async () => {
    const epics: ReferenceResolver = async (sigil, number) => (sigil === '&' && number === 3 ? '&8' : null);
    expect(await rewriteReferences('Part of &3 (not &4), a&3, ?a=1&3, &amp;, `&3`, group&3.', epics)).toBe(
      'Part of &8 (not &4), a&3, ?a=1&3, &amp;, `&3`, group&3.',
    );
  });

  it('leaves epic references alone when the resolver knows none, as an issue restore does', async () => {
    expect(await rewriteReferences('In &3 and #3.', resolve)).toBe('In &3 and #1.');
  });

  it('leaves named milestone and label references alone, as names are restored unchanged', async () => {
    expect(await rewriteReferences('%"v1.0" and ~bug', resolve)).toBe('%"v1.0" and ~bug');
  });

  it('writes the original author and day in the header and finds the marker of its source again', () => {
    const header = originHeader({ author: { username: 'alice' }, created_at: '2026-01-02T09:00:00Z' }, '#12');
    expect(header).toBe('*Originally by @alice on 2026-01-02 (restored by Labkeeper from #12)*');
    expect(originMarker('#12').test(header)).toBe(true);
    expect(originMarker('#1').test(header)).toBe(false);
    expect(originHeader({}, null)).toBe('*Originally by an unknown user (restored by Labkeeper)*');
  });
});

describe('rewriting project-qualified references once the projects are restored', () => {
  const table: Record<string, string> = {
    'app#12': 'app#7',
    'acme/app!4': 'restored/app!2',
    'acme/app#1': 'restored/app#9',
  };
  const resolve: QualifiedResolver = async (path, sigil, number) => table[`${path}${sigil}${number}`] ?? null;

  it('rewrites relative and full-path references the resolver knows, and only those', async () => {
    expect(await rewriteQualifiedReferences('See app#12 (acme/app!4), acme/app#1; not other#3 nor #5.', resolve)).toBe(
      'See app#7 (restored/app!2), restored/app#9; not other#3 nor #5.',
    );
  });

  it('leaves references in code and in URLs alone', async () => {
    const text =
      'In `app#12`, ```\nacme/app!4\n``` and https://gitlab.example.com/acme/app#12 or gitlab.example.com/app#12';
    expect(await rewriteQualifiedReferences(text, resolve)).toBe(text);
    expect(hasQualifiedReferences('In `app#12` and https://gitlab.example.com/acme/app#12')).toBe(false);
    expect(hasQualifiedReferences('Tracks app#12')).toBe(true);
    expect(hasQualifiedReferences('Only #12 and &3 here')).toBe(false);
  });
});
