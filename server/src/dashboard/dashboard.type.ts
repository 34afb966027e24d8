import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'Storage on one day: the bytes of kept snapshots up to that day, and those added on it.' })
export class StoragePoint {
  @Field({ description: 'The day, YYYY-MM-DD (UTC).' }) date!: string;
  @Field(() => Float, { description: 'Bytes of kept snapshots created up to the end of that day.' })
  storedBytes!: number;
  @Field(() => Float, { description: 'Bytes of kept snapshots created that day.' }) addedBytes!: number;
  @Field(() => Int, { description: 'Kept snapshots created up to the end of that day.' }) snapshotCount!: number;
}
