import { Field, ID, InputType } from 'type-graphql';
import { IsOptional, Length, MaxLength } from 'class-validator';
import { CredentialKindEnum } from './credential.type.js';

@InputType()
export class CreateCredentialInput {
  @Field() @Length(1, 200) name!: string;
  @Field(() => CredentialKindEnum) kind!: CredentialKindEnum;
  @Field({ description: 'The secret. Stored encrypted; never returned.' }) @Length(8, 10000) secret!: string;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(255) username?: string | null;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(1000) description?: string | null;
  @Field(() => Date, { nullable: true }) @IsOptional() expiresAt?: Date | null;
}

@InputType({ description: 'Rename, describe or rotate a credential. Omitted fields stay as they are.' })
export class UpdateCredentialInput {
  @Field(() => ID) id!: string;
  @Field({ nullable: true }) @IsOptional() @Length(1, 200) name?: string;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(255) username?: string | null;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(1000) description?: string | null;
  @Field(() => Date, { nullable: true }) @IsOptional() expiresAt?: Date | null;
  @Field({ nullable: true, description: 'A new secret (rotation).' }) @IsOptional() @Length(8, 10000) secret?: string;
}
