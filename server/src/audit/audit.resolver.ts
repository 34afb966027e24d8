import { Args, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context.js';
import { toConnection, toPage } from '../graphql/pagination.js';
import { AuditEvent, AuditEventConnection, AuditEventsArgs } from './audit.type.js';

@Resolver(() => AuditEvent)
export class AuditResolver {
  @Authorized('ADMIN')
  @Query(() => AuditEventConnection, {
    description: 'The audit log, newest first (ADMIN only). Export: GET /audit/events.jsonl.',
  })
  async auditEvents(@Args() args: AuditEventsArgs, @Ctx() { services }: GraphQLContext) {
    const page = toPage(args);
    const { items, total } = await services.audit.list(args, page);
    return toConnection(items.map(AuditEvent.from), total, page);
  }
}
