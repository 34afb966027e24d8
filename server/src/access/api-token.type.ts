import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { IsOptional, Length } from 'class-validator';
import type { ApiRole, ApiTokenEntity } from './api-token.entity.js';

export enum ApiRoleEnum {
  ADMIN = 'ADMIN',
  BACKUP_OPERATOR = 'BACKUP_OPERATOR',
  RESTORE_OPERATOR = 'RESTORE_OPERATOR',
  VIEWER = 'VIEWER',
}
registerEnumType(ApiRoleEnum, { name: 'ApiRole' });

@ObjectType({ simpleResolvers: true })
export class ApiToken {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => ApiRoleEnum) role!: ApiRole;
  @Field({ description: 'The first characters of the token, to recognise it.' }) prefix!: string;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) lastUsedAt!: Date | null;
  @Field(() => Date, { nullable: true }) expiresAt!: Date | null;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;

  static from(e: ApiTokenEntity): ApiToken {
    const { id, name, role, prefix, createdAt, lastUsedAt, expiresAt, revokedAt } = e;
    return Object.assign(new ApiToken(), { id, name, role, prefix, createdAt, lastUsedAt, expiresAt, revokedAt });
  }
}

@ObjectType({ simpleResolvers: true })
export class CreatedApiToken {
  @Field(() => ApiToken) apiToken!: ApiToken;
  @Field({ description: 'The bearer token. Shown only in this response; Labkeeper keeps a hash.' }) token!: string;
}

@InputType()
export class CreateApiTokenInput {
  @Field() @Length(1, 200) name!: string;
  @Field(() => ApiRoleEnum) role!: ApiRoleEnum;
  @Field(() => Date, { nullable: true }) @IsOptional() expiresAt?: Date | null;
}
