/**
 * Which failures to read a metadata type mean "skip this type" rather than "the backup failed".
 *
 * GitLab answers 403 for three different reasons, told apart by the body:
 * - `{"error":"insufficient_scope","scope":"api read_api"}`: the token's scopes (gitlab.errors.ts
 *   already puts them in `details.requiredScopes`) — TOKEN_SCOPE;
 * - `{"message":"403 Forbidden"}` on epics: `authorize_epics_feature!` (ee/lib/api/helpers/
 *   epics_helpers.rb) refuses when the group's plan lacks epics, i.e. Free — NOT_ON_TIER;
 * - `{"message":"403 Forbidden"}` elsewhere: the user's role (hooks, deploy keys and CI/CD
 *   variables need Maintainer) or a project feature that is switched off — ACCESS_DENIED.
 * GitLab CE has no epics route at all: its answer is the unknown-route 404
 * `{"error":"404 Not Found"}`, unlike a missing group's `{"message":"404 Group Not Found"}` — NOT_ON_TIER.
 *
 * All three stay GITLAB_FORBIDDEN (GitLab did refuse) and add `skipKind`, `skipReason` (a short
 * sentence for the snapshot's manifest) and `metadataType` to the details.
 */
import { DomainError, isDomainError } from '../shared/errors.js';

export type MetadataSkipKind = 'TOKEN_SCOPE' | 'NOT_ON_TIER' | 'ACCESS_DENIED';

export interface MetadataSkip {
  kind: MetadataSkipKind;
  reason: string;
}

/** The skip carried by an error of the metadata reader, or null when the error is a failure. */
export function metadataSkipOf(error: unknown): MetadataSkip | null {
  if (!isDomainError(error, 'GITLAB_FORBIDDEN')) return null;
  const kind = error.details?.skipKind;
  const reason = error.details?.skipReason;
  if (kind !== 'TOKEN_SCOPE' && kind !== 'NOT_ON_TIER' && kind !== 'ACCESS_DENIED') return null;
  return { kind, reason: typeof reason === 'string' ? reason : kind };
}

export interface TypeFacts {
  /** e.g. "ci_variables". */
  type: string;
  /** The role GitLab requires, named in ACCESS_DENIED reasons (e.g. "Maintainer"). */
  role: string;
  /** Premium-only types: a plain 403, or CE's unknown-route 404, means the tier lacks them. */
  tier?: 'premium';
}

/** Adds skip facts to a refusal; returns every other error unchanged. */
export function classifyMetadataError(error: unknown, facts: TypeFacts): unknown {
  if (!isDomainError(error)) return error;
  const details = error.details ?? {};
  if (error.code === 'GITLAB_FORBIDDEN') {
    const scopes = Array.isArray(details.requiredScopes) ? (details.requiredScopes as string[]) : [];
    if (scopes.length > 0) {
      return withSkip(error, 'TOKEN_SCOPE', `token lacks ${scopes.join(' or ')} scope`, facts);
    }
    if (facts.tier === 'premium') {
      return withSkip(
        error,
        'NOT_ON_TIER',
        `${facts.type} need GitLab Premium or Ultimate; not available on this tier`,
        facts,
        `${facts.type} are not available on this GitLab instance's tier${where(error)}`,
      );
    }
    return withSkip(
      error,
      'ACCESS_DENIED',
      `GitLab refused ${facts.type} (needs the ${facts.role} role, or the feature is off)`,
      facts,
    );
  }
  if (error.code === 'GITLAB_NOT_FOUND' && facts.tier === 'premium' && details.gitlabMessage === '404 Not Found') {
    const skipped = withSkip(
      error,
      'NOT_ON_TIER',
      `${facts.type} need GitLab Premium or Ultimate; this instance has no such API`,
      facts,
      `${facts.type} are not available on this GitLab instance (no such API; Community Edition?)${where(error)}`,
    );
    return skipped;
  }
  return error;
}

function withSkip(
  error: DomainError,
  kind: MetadataSkipKind,
  reason: string,
  facts: TypeFacts,
  message = error.message,
): DomainError {
  return new DomainError('GITLAB_FORBIDDEN', message, {
    details: { ...error.details, metadataType: facts.type, skipKind: kind, skipReason: reason },
    retryable: false,
    cause: error.cause ?? error,
  });
}

function where(error: DomainError): string {
  const match = / \((GET [^)]*)\)/.exec(error.message);
  return match ? ` (${match[1]})` : '';
}
