import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import type { CredentialEntity, CredentialKind } from './credential.entity.js';

export enum CredentialKindEnum {
  PERSONAL_ACCESS_TOKEN = 'PERSONAL_ACCESS_TOKEN',
  OAUTH_CLIENT_SECRET = 'OAUTH_CLIENT_SECRET',
  ENCRYPTION_KEY = 'ENCRYPTION_KEY',
  PASSWORD = 'PASSWORD',
}
registerEnumType(CredentialKindEnum, { name: 'CredentialKind' });

@ObjectType({
  simpleResolvers: true,
  description: 'A Password Manager entry. The secret itself is never returned after it is saved.',
})
export class Credential {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => CredentialKindEnum) kind!: CredentialKind;
  @Field(() => String, { nullable: true, description: 'Login that goes with the secret (GitLab username or e-mail).' })
  username!: string | null;
  @Field({ description: 'The last 4 characters of the secret, to recognise it.' }) fingerprint!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
  @Field(() => Date, { nullable: true }) rotatedAt!: Date | null;
  @Field(() => Date, {
    nullable: true,
    description:
      'When Labkeeper last used the secret, to the minute (a use within a minute of the recorded one is not written).',
  })
  lastUsedAt!: Date | null;
  @Field(() => Date, { nullable: true }) expiresAt!: Date | null;

  static from(e: CredentialEntity): Credential {
    return Object.assign(new Credential(), {
      id: e.id,
      name: e.name,
      kind: e.kind,
      username: e.username,
      fingerprint: e.fingerprint,
      description: e.description,
      createdAt: e.createdAt,
      updatedAt: e.updatedAt,
      rotatedAt: e.rotatedAt,
      lastUsedAt: e.lastUsedAt,
      expiresAt: e.expiresAt,
    });
  }
}
