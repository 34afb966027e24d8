/**
 * The kinds of GitLab metadata Labkeeper reads and writes: GitLab's vocabulary, so the adapter
 * owns it; backup policies (backup/policy.types.ts) choose among them.
 */

export const METADATA_TYPES = [
  'issues', // with notes
  'merge_requests', // with notes and versions (diff metadata)
  'labels',
  'milestones',
  'releases',
  'snippets',
  'members',
  'protected_branches',
  'protected_tags',
  'webhooks',
  'deploy_keys',
  'ci_variables', // stored encrypted
  'project_settings',
] as const;
export type MetadataType = (typeof METADATA_TYPES)[number];

export const GROUP_METADATA_TYPES = [
  'group_labels',
  'group_milestones',
  'group_members',
  'subgroups',
  'epics',
] as const;
export type GroupMetadataType = (typeof GROUP_METADATA_TYPES)[number];
