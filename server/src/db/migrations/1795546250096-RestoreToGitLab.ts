import { MigrationInterface, QueryRunner } from 'typeorm';

export class RestoreToGitLab1795546250096 implements MigrationInterface {
  name = 'RestoreToGitLab1795546250096';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "restore_mappings" ("scope" text NOT NULL, "kind" text NOT NULL, "source_id" text NOT NULL, "target_id" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_c484177a7f8514de89c79a7ef71" PRIMARY KEY ("scope", "kind", "source_id"))`,
    );
    await queryRunner.query(`ALTER TABLE "restore_runs" ADD "options" jsonb`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "restore_runs" DROP COLUMN "options"`);
    await queryRunner.query(`DROP TABLE "restore_mappings"`);
  }
}
