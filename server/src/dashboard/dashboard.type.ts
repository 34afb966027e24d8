import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';

@ObjectType({
  simpleResolvers: true,
  description: 'Storage on one day: the bytes of kept snapshots up to that day, and those added on it.',
})
export class StoragePoint {
  @Field({ description: 'The day, YYYY-MM-DD (UTC).' }) date!: string;
  @Field(() => Float, { description: 'Bytes of kept snapshots created up to the end of that day.' })
  storedBytes!: number;
  @Field(() => Float, { description: 'Bytes of kept snapshots created that day.' }) addedBytes!: number;
  @Field(() => Int, { description: 'Kept snapshots created up to the end of that day.' }) snapshotCount!: number;
}

export const ATTENTION_KINDS = [
  'RUN_FAILED',
  'RUN_PARTIAL',
  'REPOSITORY_STALE',
  'CONNECTION_EXPIRED',
  'CONNECTION_EXPIRING',
  'CONNECTION_ERROR',
  'DRILL_FAILED',
  'STORAGE_ERROR',
  'ANOMALY',
] as const;
export type AttentionKindValue = (typeof ATTENTION_KINDS)[number];
export const AttentionKind = Object.fromEntries(ATTENTION_KINDS.map((k) => [k, k])) as {
  [K in AttentionKindValue]: K;
};
registerEnumType(AttentionKind, {
  name: 'AttentionKind',
  description:
    'RUN_FAILED / RUN_PARTIAL: the latest finished run of an organization did not succeed. REPOSITORY_STALE: a protected repository without a successful backup for 48 hours. CONNECTION_EXPIRED / CONNECTION_EXPIRING (within 14 days) / CONNECTION_ERROR. DRILL_FAILED: the latest drill of an organization. STORAGE_ERROR: a replica copy or a verification failed in the last 7 days. ANOMALY: recorded in the last 7 days.',
});

@ObjectType({
  simpleResolvers: true,
  description: 'One thing that needs attention, in words, with what to do and the ids that lead to it.',
})
export class AttentionItem {
  @Field(() => AttentionKind) kind!: AttentionKindValue;
  @Field({ description: 'What is wrong, in words.' }) title!: string;
  @Field(() => String, { nullable: true, description: 'Why, when known (an error, a status reason).' })
  detail!: string | null;
  @Field({ description: 'What to do about it, in words.' }) action!: string;
  @Field({ description: 'Since when (a run or drill ended, a token expires, the last successful backup).' }) at!: Date;
  @Field(() => ID, { nullable: true }) organizationId!: string | null;
  @Field(() => ID, { nullable: true, description: 'RUN_FAILED / RUN_PARTIAL: the run.' }) runId!: string | null;
  @Field(() => ID, { nullable: true }) repositoryId!: string | null;
  @Field(() => ID, { nullable: true }) connectionId!: string | null;
  @Field(() => ID, { nullable: true }) drillRunId!: string | null;
  @Field(() => ID, { nullable: true }) snapshotId!: string | null;
}
