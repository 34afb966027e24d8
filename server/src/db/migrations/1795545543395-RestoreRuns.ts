import { MigrationInterface, QueryRunner } from 'typeorm';

export class RestoreRuns1795545543395 implements MigrationInterface {
  name = 'RestoreRuns1795545543395';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "restore_runs" ("id" uuid NOT NULL, "organization_id" uuid NOT NULL, "target" text NOT NULL, "snapshot_ids" uuid array NOT NULL, "is_dry_run" boolean NOT NULL, "status" text NOT NULL, "phase" text NOT NULL, "report" jsonb, "error_message" text, "download_expires_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_6d3094e1def4ee2f36f54a54e69" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_a45063fdb299be141498c990ea" ON "restore_runs"  ("organization_id") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_a45063fdb299be141498c990ea"`);
    await queryRunner.query(`DROP TABLE "restore_runs"`);
  }
}
