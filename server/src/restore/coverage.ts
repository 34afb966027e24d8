/**
 * The coverage matrix: for every type a snapshot captures, what each restore target does with it.
 * This is the single list behind docs/COVERAGE.md (generated from it by coverage-emit.ts, and
 * compared with it by a test) and behind the fidelity report's reasons for what a target does not
 * write back (fidelity.ts), so the documentation, the report and the engine cannot drift apart.
 * A captured type without a decision here does not compile (the Record is keyed by the types
 * the backup reads, METADATA_TYPES and GROUP_METADATA_TYPES).
 */
import type { GroupMetadataType, MetadataType } from '../gitlab/metadata.types.js';

/** A restore decision: written back (how), or not written back (why). */
export type Decision = { restored: string } | { notRestored: string };

export type CapturedType = 'repository' | 'wiki' | 'lfs' | MetadataType | GroupMetadataType;

export interface Coverage {
  /** What the backup keeps. */
  backup: string;
  /** Target ORIGINAL: into the project the snapshot came from. */
  original: Decision;
  /** Target NEW_PROJECT, on the same instance or another one (targetConnectionId). */
  newProject: Decision;
  /** What differs when the new project is on another GitLab instance (null: nothing). */
  otherInstance: string | null;
}

/** Target DOWNLOAD holds every artifact as stored (docs/FORMAT.md), so it is the same for every type. */
export const DOWNLOAD_COVERAGE = 'in the archive, as stored (encrypted artifacts stay encrypted)';

const ORIGINAL_METADATA: Decision = {
  notRestored:
    'target ORIGINAL restores refs, the wiki and LFS objects; metadata is not written back into the original project (restore it to a new project)',
};
const GROUP_ONLY: Decision = {
  notRestored:
    'target ORIGINAL restores repositories only; a group’s metadata is not written back into the original group (restore it with NEW_PROJECT)',
};
const BY_USERNAME = 'users are matched by username: the same people must exist on the target';

export const COVERAGE: Record<CapturedType, Coverage> = {
  repository: {
    backup: 'every ref (branches, tags, GitLab’s own refs) as git bundles',
    original: { restored: 'refs as refMode says (PREFIX, MISSING_ONLY, OVERWRITE; protected branches never forced)' },
    newProject: { restored: 'every ref GitLab accepts, the default branch first (refs/merge-requests/* are GitLab’s)' },
    otherInstance: null,
  },
  wiki: {
    backup: 'the wiki repository as git bundles',
    original: { restored: 'as refMode says' },
    newProject: { restored: 'pushed (GitLab creates the wiki repository on that first push)' },
    otherInstance: null,
  },
  lfs: {
    backup: 'every LFS object the refs point to, by oid',
    original: { restored: 'objects the project lacks are uploaded' },
    newProject: { restored: 'uploaded through the LFS batch API' },
    otherInstance: null,
  },
  issues: {
    backup: 'with notes (and, where the tier has epics, the epic each belongs to)',
    original: ORIGINAL_METADATA,
    newProject: {
      restored:
        'with notes, labels, milestone (by title), assignees (by username), state, epic (the restored one); references rewritten; authors through Sudo when the connection is an administrator, else in the text',
    },
    otherInstance: BY_USERNAME,
  },
  merge_requests: {
    backup: 'with notes and versions (diff metadata)',
    original: ORIGINAL_METADATA,
    newProject: {
      restored:
        'as merge requests when both branches exist (else as an issue that says so), with notes, assignees and reviewers (by username), milestone; merged ones closed',
    },
    otherInstance: BY_USERNAME,
  },
  labels: {
    backup: 'the project’s own labels',
    original: ORIGINAL_METADATA,
    newProject: { restored: 'matched by name' },
    otherInstance: null,
  },
  milestones: {
    backup: 'the project’s own milestones',
    original: ORIGINAL_METADATA,
    newProject: { restored: 'matched by title; closed ones closed' },
    otherInstance: null,
  },
  releases: {
    backup: 'with links and milestones',
    original: ORIGINAL_METADATA,
    newProject: { restored: 'on their tags (a release whose tag is missing fails, with the reason)' },
    otherInstance: null,
  },
  snippets: {
    backup: 'with every file and its content (a file that could not be read is a warning of the snapshot)',
    original: ORIGINAL_METADATA,
    newProject: { restored: 'with every captured file (one the snapshot lacks is named in the report)' },
    otherInstance: null,
  },
  members: {
    backup: 'direct members with access level and expiry',
    original: ORIGINAL_METADATA,
    newProject: { restored: 'mapped by username to existing users; unmapped ones listed' },
    otherInstance: BY_USERNAME,
  },
  protected_branches: {
    backup: 'with push/merge/unprotect access levels',
    original: ORIGINAL_METADATA,
    newProject: { restored: 'with their access levels' },
    otherInstance: null,
  },
  protected_tags: {
    backup: 'with create access levels',
    original: ORIGINAL_METADATA,
    newProject: { restored: 'with their access levels' },
    otherInstance: null,
  },
  webhooks: {
    backup: 'URL (credentials redacted), events, SSL verification; GitLab never returns the secret token',
    original: ORIGINAL_METADATA,
    newProject: {
      restored:
        'with the secret token given in webhookSecretTokens (by URL); a hook without one is named in the report',
    },
    otherInstance: null,
  },
  deploy_keys: {
    backup: 'public keys and write access',
    original: ORIGINAL_METADATA,
    newProject: { restored: 'as project deploy keys' },
    otherInstance: null,
  },
  ci_variables: {
    backup: 'always encrypted (policy key, else the installation key)',
    original: ORIGINAL_METADATA,
    newProject: { restored: 'decrypted, with protected/masked/environment scope (hidden ones have no value: listed)' },
    otherInstance: null,
  },
  project_settings: {
    backup: 'description, topics, visibility, default branch, merge and feature settings, archived state',
    original: ORIGINAL_METADATA,
    newProject: { restored: 'as far as the target allows; the archived state set last' },
    otherInstance: null,
  },
  group_labels: {
    backup: 'the group’s own labels',
    original: GROUP_ONLY,
    newProject: { restored: 'on the matching group of the kept hierarchy' },
    otherInstance: null,
  },
  group_milestones: {
    backup: 'the group’s own milestones',
    original: GROUP_ONLY,
    newProject: { restored: 'on the matching group; closed ones closed' },
    otherInstance: null,
  },
  group_members: {
    backup: 'direct members with access level',
    original: GROUP_ONLY,
    newProject: { restored: 'mapped by username on the matching group' },
    otherInstance: BY_USERNAME,
  },
  subgroups: {
    backup: 'the subgroup tree',
    original: GROUP_ONLY,
    newProject: { restored: 'recreated as the groups of this restore (name, description, visibility)' },
    otherInstance: null,
  },
  epics: {
    backup: 'where the tier has them (Premium); SKIPPED with GitLab’s reason on Free',
    original: GROUP_ONLY,
    newProject: {
      restored:
        'on the matching group where its tier has epics (Premium): title, description, labels, fixed dates, confidentiality, state; parents first, with parent links on Ultimate (below it the hierarchy is flattened, and the report says so); authors as for issues; `&iid` references in descriptions rewritten to the restored epics. Restored issues go back into their restored epics. On a tier without epics the report says they were skipped and why',
    },
    otherInstance: BY_USERNAME,
  },
};

/** Why a target does not write a type back, or null when it does. */
export function notRestoredReason(type: string, target: 'original' | 'newProject'): string | null {
  const decision = (COVERAGE as Partial<Record<string, Coverage>>)[type]?.[target];
  return decision && 'notRestored' in decision ? decision.notRestored : null;
}

function cell(decision: Decision): string {
  return 'restored' in decision ? `restored: ${decision.restored}` : `**not restored**: ${decision.notRestored}`;
}

/** docs/COVERAGE.md, exactly. */
export function renderCoverageMatrix(): string {
  const escape = (text: string) => text.replace(/\|/g, '\\|');
  const rows = Object.entries(COVERAGE).map(
    ([type, c]) =>
      `| \`${type}\` | ${escape(c.backup)} | ${escape(cell(c.original))} | ${escape(cell(c.newProject))} | ${escape(
        c.otherInstance ?? 'as NEW_PROJECT',
      )} |`,
  );
  return [
    '# Coverage matrix',
    '',
    '<!-- Generated from server/src/restore/coverage.ts; do not edit. Regenerate with:',
    '     node --import @swc-node/register/esm-register server/src/restore/coverage-emit.ts -->',
    '',
    'What a snapshot captures of each type, and what each restore target does with it. Target',
    `DOWNLOAD is the same for every type: ${DOWNLOAD_COVERAGE}. A restore report lists every type`,
    'a snapshot holds with captured / restored / skipped / failed counts and reasons; a type a',
    'target does not write back appears there as skipped, with the reason below.',
    '',
    '| Type | Backed up | ORIGINAL | NEW_PROJECT | Other instance |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
