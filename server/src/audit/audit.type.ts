import { IsOptional, MaxLength } from 'class-validator';
import { GraphQLJSONObject } from 'graphql-scalars';
import { ArgsType, Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Connection as ConnectionOf, PageArgs } from '../graphql/pagination.js';
import type { AuditEventEntity } from './audit-event.entity.js';

export enum AuditResultEnum {
  OK = 'OK',
  ERROR = 'ERROR',
}
registerEnumType(AuditResultEnum, { name: 'AuditResult' });

export enum AuditTransportEnum {
  HTTP = 'HTTP',
  WEBSOCKET = 'WEBSOCKET',
}
registerEnumType(AuditTransportEnum, { name: 'AuditTransport' });

@ObjectType({ simpleResolvers: true, description: 'One mutation or sign-in, as the audit log recorded it.' })
export class AuditEvent {
  @Field(() => ID) id!: string;
  @Field() at!: Date;
  @Field(() => ID, { nullable: true, description: 'The API token used; null for a failed sign-in.' })
  tokenId!: string | null;
  @Field(() => String, { nullable: true }) tokenName!: string | null;
  @Field(() => String, { nullable: true }) tokenRole!: string | null;
  @Field({ description: 'The mutation (e.g. runNow), or signIn.' }) operation!: string;
  @Field(() => AuditTransportEnum) transport!: AuditTransportEnum;
  @Field(() => GraphQLJSONObject, { description: 'The arguments as given, secrets replaced by "[REDACTED]".' })
  arguments!: Record<string, unknown>;
  @Field(() => AuditResultEnum) result!: AuditResultEnum;
  @Field(() => String, { nullable: true, description: 'The error code when the result is ERROR.' })
  errorCode!: string | null;
  @Field() clientAddress!: string;
  @Field(() => String, { nullable: true }) userAgent!: string | null;

  static from(e: AuditEventEntity): AuditEvent {
    return Object.assign(new AuditEvent(), {
      ...e,
      transport: e.transport as AuditTransportEnum,
      result: e.result as AuditResultEnum,
    });
  }
}

export const AuditEventConnection = ConnectionOf(AuditEvent, 'AuditEvent');

@ArgsType()
export class AuditEventsArgs extends PageArgs {
  @Field(() => String, { nullable: true, description: 'Only this operation (e.g. runNow, signIn).' })
  @IsOptional()
  @MaxLength(200)
  operation?: string;
  @Field(() => ID, { nullable: true }) tokenId?: string;
  @Field(() => AuditResultEnum, { nullable: true }) result?: AuditResultEnum;
  @Field(() => Date, { nullable: true, description: 'At or after this time.' }) since?: Date;
  @Field(() => Date, { nullable: true, description: 'At or before this time.' }) until?: Date;
}
