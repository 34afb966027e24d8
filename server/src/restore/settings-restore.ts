/**
 * Restores a project's settings and access as a snapshot captured them: direct members (mapped by
 * username to users of the target; unmapped ones are listed), protected branches and tags with
 * their access levels, webhooks (URL, events, SSL verification — GitLab never returns a hook's
 * secret token: the user may give it by URL (`webhookTokens`); a hook left without one is named
 * in the report), deploy keys, CI/CD variables (decrypted
 * from the snapshot, with protected/masked/raw/environment scope; hidden ones came back without a
 * value and are listed) and the project settings (description, topics, visibility as far as the
 * target allows, default branch, merge and feature settings). The archived state is only
 * returned: the caller archives last, since an archived project refuses writes.
 *
 * Each item is looked up in the target before it is created (members by user, protected refs by
 * name, hooks by URL, deploy keys by key, variables by key and environment scope), so a re-run
 * creates nothing twice. Failures are per item, with GitLab's reason.
 */
import { isDomainError } from '../shared/errors.js';
import type { MetadataRecord } from '../gitlab/metadata.port.js';
import type { GitLabMetadataWriter, ProjectCollection } from '../gitlab/metadata.writer.js';
import type { RecordSource, RestoreFailure, TypeRestoreReport } from './metadata-restore.js';

export const SETTINGS_TYPES = [
  'project_settings',
  'members',
  'protected_branches',
  'protected_tags',
  'webhooks',
  'deploy_keys',
  'ci_variables',
] as const;
export type SettingsType = (typeof SETTINGS_TYPES)[number];

/** A type's outcome: created / already there (skipped) / failed, plus what was left out on purpose and why. */
export interface SettingsTypeReport extends TypeRestoreReport {
  omitted: RestoreFailure[];
  notes: string[];
}

export type SettingsRestoreReport = Partial<Record<SettingsType, SettingsTypeReport>>;

/** Project settings fields written back (GitLab's PUT /projects/:id parameters). */
const PROJECT_FIELDS = [
  'description',
  'merge_method',
  'squash_option',
  'only_allow_merge_if_pipeline_succeeds',
  'only_allow_merge_if_all_discussions_are_resolved',
  'remove_source_branch_after_merge',
  'issues_access_level',
  'merge_requests_access_level',
  'wiki_access_level',
  'snippets_access_level',
  'builds_access_level',
  'lfs_enabled',
  'request_access_enabled',
  'ci_config_path',
];

const HOOK_FIELDS = [
  'url',
  'name',
  'description',
  'push_events',
  'push_events_branch_filter',
  'issues_events',
  'confidential_issues_events',
  'merge_requests_events',
  'tag_push_events',
  'note_events',
  'confidential_note_events',
  'job_events',
  'pipeline_events',
  'wiki_page_events',
  'deployment_events',
  'releases_events',
  'enable_ssl_verification',
];

function open(source: RecordSource): AsyncIterable<MetadataRecord> {
  return typeof source === 'function' ? source() : source;
}

const section = (): SettingsTypeReport => ({ created: 0, skipped: 0, failed: [], omitted: [], notes: [] });
const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));
const firstLevel = (levels: unknown, name: string): number | undefined => {
  if (!Array.isArray(levels)) return undefined;
  const found = (levels as MetadataRecord[]).find((l) => typeof l[name] === 'number');
  return found ? (found[name] as number) : undefined;
};
/** Whether a protected branch on the target has other push/merge access levels (or force push) than `wanted`. */
function levelsDiffer(present: MetadataRecord, wanted: Record<string, unknown>): boolean {
  return (
    firstLevel(present.push_access_levels, 'access_level') !== wanted.push_access_level ||
    firstLevel(present.merge_access_levels, 'access_level') !== wanted.merge_access_level ||
    (wanted.allow_force_push !== undefined &&
      (present.allow_force_push ?? false) !== (wanted.allow_force_push ?? false))
  );
}

const isConflict = (error: unknown) =>
  isDomainError(error) &&
  (error.details?.status === 409 || /already (exists|been taken)/i.test(error.details?.gitlabMessage ?? ''));

export async function restoreProjectSettings(input: {
  writer: GitLabMetadataWriter;
  projectId: number;
  source: Partial<Record<SettingsType, RecordSource>>;
  /** Branches the target has (a default branch is set only when it exists). */
  branches: ReadonlySet<string>;
  dryRun: boolean;
  /**
   * The restore created the project: a protected branch the snapshot does not have is GitLab's
   * automatic protection of the default branch (first push), and is removed so that the
   * project's protected branches are the captured ones. Never on a project that existed before.
   */
  createdProject?: boolean;
  /** Secret tokens for captured webhooks, by URL: GitLab never returns a hook's token, the user supplies it. */
  webhookTokens?: ReadonlyMap<string, string>;
}): Promise<{ report: SettingsRestoreReport; archive: boolean }> {
  const { writer, projectId, source, dryRun } = input;
  const report: SettingsRestoreReport = {};
  let archive = false;
  const attempt = async (r: SettingsTypeReport, id: string, run: () => Promise<'created' | 'skipped'>) => {
    try {
      r[await run()] += 1;
    } catch (error) {
      if (isDomainError(error, 'GITLAB_UNAUTHORIZED')) throw error;
      if (isConflict(error)) r.skipped += 1;
      else r.failed.push({ sourceId: id, reason: reason(error) });
    }
  };

  if (source.project_settings) {
    const r = (report.project_settings = section());
    for await (const settings of open(source.project_settings)) {
      archive = settings.archived === true;
      await attempt(r, typeof settings.id === 'number' ? String(settings.id) : 'project', async () => {
        const change: Record<string, unknown> = {};
        for (const field of PROJECT_FIELDS)
          if (settings[field] !== undefined && settings[field] !== null) change[field] = settings[field];
        // A project captured without a description gets none: not the text the new project was created with.
        if ('description' in settings && (settings.description === null || settings.description === ''))
          change.description = '';
        if (Array.isArray(settings.topics))
          change.topics = (settings.topics as unknown[]).filter((t) => typeof t === 'string').join(',');
        if (typeof settings.default_branch === 'string' && input.branches.has(settings.default_branch))
          change.default_branch = settings.default_branch;
        if (dryRun) return 'created';
        const visibility = typeof settings.visibility === 'string' ? settings.visibility : undefined;
        try {
          await writer.updateProject(projectId, { ...change, ...(visibility ? { visibility } : {}) });
        } catch (error) {
          if (!visibility || isDomainError(error, 'GITLAB_UNAUTHORIZED')) throw error;
          // The target may refuse the visibility (restricted levels, a less visible group, the
          // role): everything else is still set, and the report says which visibility was kept.
          await writer.updateProject(projectId, change);
          r.notes.push(
            `visibility ${visibility} was refused by the target (${reason(error)}); the project keeps the target's`,
          );
        }
        return 'created';
      });
      if (archive) r.notes.push('archived: the project is archived after everything else is restored');
    }
  }

  if (source.members) {
    const r = (report.members = section());
    const existing = await writer.listMembers({ kind: 'project', id: projectId });
    await restoreMembers(
      writer,
      { kind: 'project', id: projectId },
      open(source.members),
      existing,
      r,
      dryRun,
      attempt,
    );
  }

  const collections: Array<
    [
      SettingsType,
      ProjectCollection,
      (record: MetadataRecord) => { key: string; fields: Record<string, unknown> | null; omit?: string },
      (item: MetadataRecord) => string,
    ]
  > = [
    [
      'protected_branches',
      'protected_branches',
      (b) => ({
        key: String(b.name),
        fields: {
          name: b.name,
          push_access_level: firstLevel(b.push_access_levels, 'access_level'),
          merge_access_level: firstLevel(b.merge_access_levels, 'access_level'),
          unprotect_access_level: firstLevel(b.unprotect_access_levels, 'access_level'),
          allow_force_push: b.allow_force_push,
          code_owner_approval_required: b.code_owner_approval_required,
        },
      }),
      (b) => String(b.name),
    ],
    [
      'protected_tags',
      'protected_tags',
      (t) => ({
        key: String(t.name),
        fields: { name: t.name, create_access_level: firstLevel(t.create_access_levels, 'access_level') },
      }),
      (t) => String(t.name),
    ],
    [
      'webhooks',
      'hooks',
      (h) => {
        const token = input.webhookTokens?.get(String(h.url));
        return {
          key: String(h.url),
          fields: {
            ...Object.fromEntries(HOOK_FIELDS.filter((f) => h[f] !== undefined && h[f] !== null).map((f) => [f, h[f]])),
            ...(token ? { token } : {}),
          },
        };
      },
      (h) => String(h.url),
    ],
    [
      'deploy_keys',
      'deploy_keys',
      (k) => ({
        key: String(k.key).trim(),
        fields: { title: k.title, key: k.key, can_push: k.can_push, expires_at: k.expires_at },
      }),
      (k) => String(k.key).trim(),
    ],
    [
      'ci_variables',
      'variables',
      (v) => ({
        key: `${String(v.key)}\u0000${typeof v.environment_scope === 'string' ? v.environment_scope : '*'}`,
        fields:
          typeof v.value === 'string'
            ? {
                key: v.key,
                value: v.value,
                variable_type: v.variable_type,
                protected: v.protected,
                masked: v.masked,
                raw: v.raw,
                environment_scope: v.environment_scope,
                description: v.description,
              }
            : null,
        omit: 'a hidden variable: GitLab never reveals its value, set it again on the target',
      }),
      (v) => `${String(v.key)}\u0000${typeof v.environment_scope === 'string' ? v.environment_scope : '*'}`,
    ],
  ];
  for (const [type, collection, toFields, keyOf] of collections) {
    const records = source[type];
    if (!records) continue;
    const r = (report[type] = section());
    const listed = new Map(
      (await writer.listProjectItems(projectId, collection)).map((item) => [keyOf(item), item] as const),
    );
    const existing = new Map(listed);
    const captured = new Set<string>();
    for await (const record of open(records)) {
      const { key, fields, omit } = toFields(record);
      captured.add(key);
      const id = type === 'ci_variables' ? String(record.key) : key;
      if (fields === null) {
        r.omitted.push({ sourceId: id, reason: omit ?? 'not restorable' });
        continue;
      }
      await attempt(r, id, async () => {
        const present = existing.get(key);
        // A hook an earlier run restored without its token gets the token supplied now.
        if (present && type === 'webhooks' && typeof fields.token === 'string' && typeof present.id === 'number') {
          if (!dryRun) await writer.updateProjectHook(projectId, present.id, { url: key, token: fields.token });
          return 'skipped';
        }
        if (present && !(type === 'protected_branches' && levelsDiffer(present, fields))) return 'skipped';
        // A branch the target protected with other access levels — GitLab protects a new project's
        // default branch on its first push — is protected again with the captured ones.
        if (present && !dryRun) await writer.unprotectBranch(projectId, key);
        if (!dryRun) await writer.createProjectItem(projectId, collection, fields);
        existing.set(key, record);
        return 'created';
      });
    }
    if (type === 'protected_branches' && input.createdProject && !dryRun) {
      for (const name of listed.keys())
        if (!captured.has(name))
          await writer.unprotectBranch(projectId, name).catch((error: unknown) => {
            if (isDomainError(error, 'GITLAB_UNAUTHORIZED')) throw error;
            r.failed.push({
              sourceId: name,
              reason: `GitLab protected it on the first push; unprotecting it failed: ${reason(error)}`,
            });
          });
    }
    if (type === 'webhooks') {
      // GitLab never returns a hook's token, so the backup cannot hold it: the user supplies it.
      const failedUrls = new Set(r.failed.map((f) => f.sourceId));
      for (const url of captured)
        if (!failedUrls.has(url) && !input.webhookTokens?.has(url))
          r.notes.push(
            listed.has(url)
              ? `${url}: already on the target; its secret token, if it has one (GitLab does not say), is left as it is: supply it in webhookSecretTokens to set it`
              : `${url}: restored without a secret token (GitLab never returns it): supply it in webhookSecretTokens, or set it on the target`,
          );
      for (const url of input.webhookTokens?.keys() ?? [])
        if (!captured.has(url)) r.notes.push(`${url}: a secret token was given, but no captured webhook has this URL`);
    }
  }
  return { report, archive };
}

/** Members mapped by username to existing users of the target, with their access level and expiry. */
export async function restoreMembers(
  writer: GitLabMetadataWriter,
  owner: { kind: 'project' | 'group'; id: number },
  records: AsyncIterable<MetadataRecord>,
  existing: MetadataRecord[],
  r: SettingsTypeReport,
  dryRun: boolean,
  attempt: (r: SettingsTypeReport, id: string, run: () => Promise<'created' | 'skipped'>) => Promise<void>,
): Promise<void> {
  const present = new Set(existing.map((m) => String(m.username).toLowerCase()));
  for await (const member of records) {
    const username = typeof member.username === 'string' ? member.username : null;
    if (!username || typeof member.access_level !== 'number') {
      r.failed.push({ sourceId: String(member.id), reason: 'the record has no username or access level' });
      continue;
    }
    if (present.has(username.toLowerCase())) {
      r.skipped += 1;
      continue;
    }
    const user = await writer.findUser(username);
    if (!user) {
      r.omitted.push({ sourceId: username, reason: `no user ${username} on the target: add them, then restore again` });
      continue;
    }
    await attempt(r, username, async () => {
      if (!dryRun)
        await writer.addMember(owner, {
          user_id: user.id,
          access_level: member.access_level as number,
          expires_at: typeof member.expires_at === 'string' ? member.expires_at : null,
        });
      present.add(username.toLowerCase());
      return 'created';
    });
  }
}
