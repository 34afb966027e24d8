/**
 * Payloads shaped as GitLab's REST API v4 documents them (doc/api/projects.md, groups.md,
 * users.md, namespaces.md, personal_access_tokens.md), trimmed to realistic fields.
 */
export function aUserPayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 7,
    username: 'ada',
    name: 'Ada Lovelace',
    state: 'active',
    locked: false,
    avatar_url: 'https://gitlab.example.com/uploads/-/system/user/avatar/7/avatar.png',
    web_url: 'https://gitlab.example.com/ada',
    created_at: '2024-01-02T03:04:05.000Z',
    bio: '',
    public_email: '',
    email: 'ada@example.com',
    is_admin: false,
    ...overrides,
  };
}

export function aPersonalAccessTokenPayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 42,
    name: 'labkeeper',
    revoked: false,
    created_at: '2025-01-01T00:00:00.000Z',
    description: null,
    scopes: ['read_api', 'read_repository'],
    user_id: 7,
    last_used_at: null,
    active: true,
    expires_at: '2026-06-30',
    ...overrides,
  };
}

export function aGroupPayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 100,
    web_url: 'https://gitlab.example.com/groups/acme',
    name: 'Acme',
    path: 'acme',
    description: 'Everything Acme builds',
    visibility: 'private',
    share_with_group_lock: false,
    require_two_factor_authentication: false,
    lfs_enabled: true,
    avatar_url: null,
    request_access_enabled: false,
    full_name: 'Acme',
    full_path: 'acme',
    parent_id: null,
    created_at: '2024-02-01T00:00:00.000Z',
    ...overrides,
  };
}

export function aNamespacePayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 9,
    name: 'Ada Lovelace',
    path: 'ada',
    kind: 'user',
    full_path: 'ada',
    parent_id: null,
    avatar_url: null,
    web_url: 'https://gitlab.example.com/ada',
    billable_members_count: 1,
    ...overrides,
  };
}

export function aProjectPayload(id: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const path = `service-${id}`;
  return {
    id,
    description: null,
    name: `Service ${id}`,
    name_with_namespace: `Acme / Service ${id}`,
    path,
    path_with_namespace: `acme/${path}`,
    created_at: '2024-03-01T00:00:00.000Z',
    default_branch: 'main',
    tag_list: [],
    topics: [],
    ssh_url_to_repo: `git@gitlab.example.com:acme/${path}.git`,
    http_url_to_repo: `https://gitlab.example.com/acme/${path}.git`,
    web_url: `https://gitlab.example.com/acme/${path}`,
    avatar_url: null,
    star_count: 0,
    last_activity_at: '2025-05-06T07:08:09.000Z',
    namespace: {
      id: 100,
      name: 'Acme',
      path: 'acme',
      kind: 'group',
      full_path: 'acme',
      parent_id: null,
      avatar_url: null,
      web_url: 'https://gitlab.example.com/groups/acme',
    },
    empty_repo: false,
    archived: false,
    visibility: 'private',
    wiki_enabled: true,
    wiki_access_level: 'enabled',
    lfs_enabled: true,
    statistics: {
      commit_count: 12,
      storage_size: 2_000_000,
      repository_size: 1_500_000,
      wiki_size: 10_000,
      lfs_objects_size: 400_000,
      job_artifacts_size: 0,
      pipeline_artifacts_size: 0,
      packages_size: 0,
      snippets_size: 0,
      uploads_size: 90_000,
      container_registry_size: 0,
    },
    ...overrides,
  };
}
