/**
 * References to other projects in restored descriptions (`app#12`, `acme/app!4`): a group's epics
 * are restored before the projects, and a project before the others it names, so such a
 * description is kept (DeferredText) and written once the run's projects are placed — to where
 * each named project and its issue or merge request went (restore.service.ts, after the projects).
 */
import { isDomainError } from '../shared/errors.js';
import type { RestoreMappings } from './metadata-mappings.js';
import { rewriteQualifiedReferences, withHeader, type QualifiedResolver } from './metadata-references.js';

/**
 * A restored record's description that names projects (`app#12`, `acme/app!4`): an epic's, or an
 * issue's or merge request's naming another project (metadata-restore.ts). Written once the run's
 * projects are placed (rewriteProjectReferences).
 */
export interface DeferredText {
  /** The snapshot it belongs to (its source path, as in the run's report): what fails is its problem. */
  owner: string;
  /** `&3`, `#12`, `!4`: the source record. */
  from: string;
  /** The namespace its relative references (`app#12`) are read in, on the source and on the target. */
  sourceNamespacePath: string;
  targetNamespacePath: string;
  /** The header the restore wrote, and the source's body with its own references rewritten. */
  header: string;
  body: string;
  /** The description on the target as far as the restore knows it (nothing is written when it reads as wanted). */
  current: string;
  write(description: string): Promise<void>;
}

/**
 * Once a run's projects are restored: rewrites the project references of restored descriptions
 * (`app#12` relative to the record's namespace, `acme/app!4` by full path) that name a project
 * this run restored, to where that project and its issue or merge request went: relative
 * (`app#7`, or `app-restored#7` after a path collision) while the project is right in the
 * record's target namespace, else by its full target path; `#` for a merge request restored as an
 * issue. A reference to a project or record not restored stays as written. Computed from the
 * source each time, so nothing is written where the text already reads as wanted. Answers the
 * records whose description could not be written, with why.
 */
export async function rewriteProjectReferences(input: {
  texts: readonly DeferredText[];
  /** Source project path → the project this run restored it as. */
  projects: ReadonlyMap<string, { id: number; path: string }>;
  mappingsOf: (projectId: number) => RestoreMappings;
}): Promise<{ text: DeferredText; reason: string }[]> {
  const failures: { text: DeferredText; reason: string }[] = [];
  for (const text of input.texts) {
    const resolve: QualifiedResolver = async (path, sigil, number) => {
      const relative = !path.includes('/');
      const project = input.projects.get(relative ? `${text.sourceNamespacePath}/${path}` : path);
      if (!project) return null;
      const mapped = await input.mappingsOf(project.id).get(sigil === '#' ? 'issue' : 'merge_request', String(number));
      if (mapped === null) return null;
      const asIssue = mapped.startsWith('issue:');
      const name = project.path.split('/').at(-1)!;
      const where = relative && project.path === `${text.targetNamespacePath}/${name}` ? name : project.path;
      return `${where}${asIssue ? '#' : sigil}${asIssue ? mapped.slice('issue:'.length) : mapped}`;
    };
    const wanted = withHeader(text.header, await rewriteQualifiedReferences(text.body, resolve));
    if (wanted === text.current) continue;
    try {
      await text.write(wanted);
    } catch (error) {
      if (isDomainError(error, 'GITLAB_UNAUTHORIZED')) throw error;
      failures.push({ text, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return failures;
}
