/**
 * What a GitLab webhook delivery says, reduced to what event-driven backups need: which project
 * it touched and whether that project is going away. Pure; the shapes are GitLab's
 * (doc/user/project/integrations/webhook_events.md, doc/administration/system_hooks.md):
 *
 *   X-Gitlab-Event            object_kind / event_name     project id from
 *   Push Hook                 push                         project_id
 *   Tag Push Hook             tag_push                     project_id
 *   Merge Request Hook        merge_request                project.id
 *   Issue Hook                issue (also work_item)       project.id
 *   Confidential Issue Hook   issue                        project.id
 *   Note Hook                 note                         project_id / project.id
 *   Confidential Note Hook    note                         project_id / project.id
 *   Wiki Page Hook            wiki_page                    project.id
 *   Release Hook              release                      project.id
 *   System Hook               project_create, project_destroy, project_rename,
 *                             project_transfer (event_name) project_id
 *
 * Any other header (pipelines, jobs, deployments, members...) or a System Hook about something
 * other than a project is not ours: the receiver answers 400 and keeps nothing.
 */

export const ACCEPTED_EVENTS = [
  'Push Hook',
  'Tag Push Hook',
  'Merge Request Hook',
  'Issue Hook',
  'Confidential Issue Hook',
  'Note Hook',
  'Confidential Note Hook',
  'Wiki Page Hook',
  'Release Hook',
  'System Hook',
] as const;
export type AcceptedEvent = (typeof ACCEPTED_EVENTS)[number];

const SYSTEM_PROJECT_EVENTS = ['project_create', 'project_destroy', 'project_rename', 'project_transfer'] as const;

/** Project events after which what GitLab holds may vanish from where we read it: back up at once. */
const URGENT_KINDS = new Set(['project_destroy', 'project_transfer', 'project_rename']);

export interface GitLabEvent {
  event: AcceptedEvent;
  /** object_kind, or a system hook's event_name. */
  kind: string;
  gitlabProjectId: number;
  /** Back up now instead of after the quiet period (the project is being deleted or moved). */
  isUrgent: boolean;
  /** The pushed ref (push and tag push), else null. */
  ref: string | null;
}

export type ParsedEvent = { ok: true; value: GitLabEvent } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const asId = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null);

export function isAcceptedEvent(header: string): header is AcceptedEvent {
  return (ACCEPTED_EVENTS as readonly string[]).includes(header);
}

/** Reads one delivery; `reason` says what was wrong, for the 400 answer (no payload echoed). */
export function parseGitLabEvent(header: string | undefined, body: unknown): ParsedEvent {
  if (!header) return { ok: false, reason: 'X-Gitlab-Event header missing' };
  if (!isAcceptedEvent(header)) return { ok: false, reason: `event "${header.slice(0, 60)}" is not handled` };
  if (!isObject(body)) return { ok: false, reason: 'the body is not a JSON object' };
  if (header === 'System Hook') {
    const name = body.event_name;
    if (typeof name !== 'string' || !(SYSTEM_PROJECT_EVENTS as readonly string[]).includes(name))
      return { ok: false, reason: 'system hook event is not a project event' };
    const id = asId(body.project_id);
    if (id === null) return { ok: false, reason: 'project_id missing' };
    return {
      ok: true,
      value: { event: header, kind: name, gitlabProjectId: id, isUrgent: URGENT_KINDS.has(name), ref: null },
    };
  }
  const kind = typeof body.object_kind === 'string' ? body.object_kind : null;
  if (!kind) return { ok: false, reason: 'object_kind missing' };
  const id = asId(body.project_id) ?? (isObject(body.project) ? asId(body.project.id) : null);
  if (id === null) return { ok: false, reason: 'project id missing' };
  const ref = typeof body.ref === 'string' ? body.ref : null;
  return { ok: true, value: { event: header, kind, gitlabProjectId: id, isUrgent: false, ref } };
}
