import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context.js';
import { OrganizationDiffResult, SnapshotAnomaly, SnapshotDiffResult, SnapshotPin } from './anomalies.type.js';

@Resolver()
export class AnomalyResolver {
  @Authorized()
  @Query(() => SnapshotDiffResult, {
    description:
      'Between two snapshots of one repository (or group): refs added, removed and moved (force-moves and ' +
      'protected branches flagged), sizes when the repository may have shrunk, metadata records per type.',
  })
  async snapshotDiff(
    @Arg('fromSnapshotId', () => ID) fromSnapshotId: string,
    @Arg('toSnapshotId', () => ID) toSnapshotId: string,
    @Ctx() { services }: GraphQLContext,
  ): Promise<SnapshotDiffResult> {
    return SnapshotDiffResult.from(await services.anomalies.diff(fromSnapshotId, toSnapshotId));
  }

  @Authorized()
  @Query(() => OrganizationDiffResult, {
    description:
      'Every repository and group whose snapshot changed between two points in time (the newest snapshot at or ' +
      'before each), summarised; snapshotDiff gives the detail of one.',
  })
  async organizationDiff(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Ctx() { services }: GraphQLContext,
  ): Promise<OrganizationDiffResult> {
    return OrganizationDiffResult.from(await services.anomalies.organizationDiff(organizationId, { from, to }));
  }

  @Authorized()
  @Query(() => [SnapshotAnomaly], { description: "An organization's recorded anomalies, newest first." })
  async snapshotAnomalies(
    @Arg('organizationId', () => ID) organizationId: string,
    @Ctx() { services }: GraphQLContext,
  ): Promise<SnapshotAnomaly[]> {
    return (await services.anomalies.list(organizationId)).map((a) => SnapshotAnomaly.from(a));
  }

  @Authorized()
  @Query(() => SnapshotPin)
  async snapshotPin(@Arg('snapshotId', () => ID) snapshotId: string, @Ctx() { services }: GraphQLContext) {
    return SnapshotPin.from(snapshotId, await services.anomalies.pinOf(snapshotId));
  }

  @Authorized('BACKUP_OPERATOR')
  @Mutation(() => SnapshotPin, { description: 'Retention keeps a pinned snapshot (and what it builds on).' })
  async pinSnapshot(@Arg('snapshotId', () => ID) snapshotId: string, @Ctx() { services }: GraphQLContext) {
    return SnapshotPin.from(snapshotId, await services.anomalies.pin(snapshotId, 'pinned by a person'));
  }

  @Authorized('BACKUP_OPERATOR')
  @Mutation(() => SnapshotPin, { description: 'Lets retention decide about the snapshot again.' })
  async unpinSnapshot(@Arg('snapshotId', () => ID) snapshotId: string, @Ctx() { services }: GraphQLContext) {
    await services.anomalies.unpin(snapshotId);
    return SnapshotPin.from(snapshotId, null);
  }
}
