import { MigrationInterface, QueryRunner } from 'typeorm';

/** Storages as first-class objects (S3-compatible buckets a policy can name). */
export class Storages1796215072098 implements MigrationInterface {
  name = 'Storages1796215072098';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "storages" ("id" uuid NOT NULL, "name" text NOT NULL, "kind" text NOT NULL, "settings" jsonb NOT NULL, "secret_credential_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_storages_id" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "IDX_storages_name" ON "storages" ("name")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "storages"`);
  }
}
