import type { AuthCheckerInterface, ResolverData } from 'type-graphql';
import type { ApiRole } from '../access/api-token.entity.js';
import { roleSatisfies, type Principal } from '../access/api-token.service.js';
import type { Services } from '../services.js';
import type { AuditClient } from './audit-recorder.js';
import type { Loaders } from './loaders.js';

/**
 * Per-operation context: who is asking (always set: anonymous requests never get this far), and
 * the request's own batching loaders (loaders.ts), made fresh for each request.
 */
export interface GraphQLContext {
  principal: Principal;
  services: Services;
  loaders: Loaders;
  /** Who is on the other end (address, user agent, transport), for the audit log. */
  client?: AuditClient;
  /**
   * Set by a resolver whose answer is not the database's (it asked GitLab, read a storage, signed a
   * link): the HTTP response cache (response-cache.ts) keeps no copy of this operation's answer.
   */
  notCached?: boolean;
}

/** `@Authorized()` = any valid token; `@Authorized('BACKUP_OPERATOR')` = that role or ADMIN. */
export class RoleAuthChecker implements AuthCheckerInterface<GraphQLContext, ApiRole> {
  check({ context }: ResolverData<GraphQLContext>, roles: ApiRole[]): boolean {
    return context.principal !== undefined && roleSatisfies(context.principal.role, roles);
  }
}

/** "Bearer <token>" → token; anything else → null. */
export function bearerToken(header: string | string[] | undefined | null): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value ?? '');
  return match ? match[1] : null;
}
