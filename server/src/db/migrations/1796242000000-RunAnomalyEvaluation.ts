import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Whether a finished run's snapshots went through the anomaly rules, and who is evaluating them
 * (a lease, so a process that stopped mid-way is taken over). Runs that finished before this
 * migration count as evaluated: their evaluation ran, or is long past catching up.
 */
export class RunAnomalyEvaluation1796242000000 implements MigrationInterface {
  name = 'RunAnomalyEvaluation1796242000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "backup_runs" ADD "anomalies_evaluated_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "backup_runs" ADD "anomalies_lease_until" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "backup_runs" ADD "anomaly_attempts" integer NOT NULL DEFAULT 0`);
    await queryRunner.query(
      `UPDATE "backup_runs" SET "anomalies_evaluated_at" = "finished_at" WHERE "finished_at" IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_backup_runs_anomalies_pending" ON "backup_runs" ("organization_id")
         WHERE "anomalies_evaluated_at" IS NULL AND "finished_at" IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "IDX_backup_runs_anomalies_pending"`);
    await queryRunner.query(`ALTER TABLE "backup_runs" DROP COLUMN "anomaly_attempts"`);
    await queryRunner.query(`ALTER TABLE "backup_runs" DROP COLUMN "anomalies_lease_until"`);
    await queryRunner.query(`ALTER TABLE "backup_runs" DROP COLUMN "anomalies_evaluated_at"`);
  }
}
