import { MigrationInterface, QueryRunner } from 'typeorm';

export class DrillRuns1795551242542 implements MigrationInterface {
  name = 'DrillRuns1795551242542';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "drill_runs" ("id" uuid NOT NULL, "organization_id" uuid NOT NULL, "trigger" text NOT NULL, "target" text NOT NULL, "target_options" jsonb, "sample_size" integer NOT NULL, "status" text NOT NULL, "results" jsonb NOT NULL DEFAULT '[]', "error_message" text, "scheduled_for" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_30e4977a3455cf763851b7613a5" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_d8c84f8ffb8a529f600f3800d6" ON "drill_runs"  ("organization_id", "created_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "drill_schedules" ("organization_id" uuid NOT NULL, "next_drill_at" TIMESTAMP WITH TIME ZONE, "basis" text NOT NULL, CONSTRAINT "PK_079fa0a5772f541623d325e008c" PRIMARY KEY ("organization_id"))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "drill_schedules"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_d8c84f8ffb8a529f600f3800d6"`);
    await queryRunner.query(`DROP TABLE "drill_runs"`);
  }
}
