import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Anomalies found when a new snapshot is compared with the one before (a force-push of the default
 * branch, refs deleted en masse, a repository emptied), and the pins that keep the last good
 * snapshot out of retention's reach until a person unpins it.
 */
export class SnapshotPinsAndAnomalies1796216604392 implements MigrationInterface {
  name = 'SnapshotPinsAndAnomalies1796216604392';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "snapshot_anomalies" (
        "id" uuid NOT NULL,
        "organization_id" uuid NOT NULL,
        "repository_id" uuid NOT NULL,
        "snapshot_id" uuid NOT NULL,
        "previous_snapshot_id" uuid NOT NULL,
        "kind" text NOT NULL,
        "message" text NOT NULL,
        "details" jsonb NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "PK_snapshot_anomalies" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_snapshot_anomalies_org" ON "snapshot_anomalies" ("organization_id")`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_snapshot_anomalies_once" ON "snapshot_anomalies" ("snapshot_id", "kind")`,
    );
    await queryRunner.query(
      `CREATE TABLE "snapshot_pins" (
        "snapshot_id" uuid NOT NULL,
        "organization_id" uuid NOT NULL,
        "reason" text NOT NULL,
        "anomaly_id" uuid,
        "pinned_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "PK_snapshot_pins" PRIMARY KEY ("snapshot_id"))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "snapshot_pins"`);
    await queryRunner.query(`DROP TABLE "snapshot_anomalies"`);
  }
}
