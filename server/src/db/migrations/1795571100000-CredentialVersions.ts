import { MigrationInterface, QueryRunner } from 'typeorm';

/** Previous secrets of rotated encryption keys, so the snapshots made with them stay readable. */
export class CredentialVersions1795571100000 implements MigrationInterface {
  name = 'CredentialVersions1795571100000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "credential_versions" ("credential_id" uuid NOT NULL, "version" integer NOT NULL, "secret_ciphertext" bytea NOT NULL, "fingerprint" text NOT NULL, "retired_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_credential_versions" PRIMARY KEY ("credential_id", "version"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "credential_versions" ADD CONSTRAINT "FK_credential_versions_credential" FOREIGN KEY ("credential_id") REFERENCES "credentials"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "credential_versions"`);
  }
}
