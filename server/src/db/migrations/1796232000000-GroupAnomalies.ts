import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Anomaly rules run on group snapshots too (a subgroup deleted, group labels, milestones or epics
 * deleted en masse): an anomaly belongs to a repository or to a group.
 */
export class GroupAnomalies1796232000000 implements MigrationInterface {
  name = 'GroupAnomalies1796232000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "snapshot_anomalies" ALTER COLUMN "repository_id" DROP NOT NULL`);
    await queryRunner.query(`ALTER TABLE "snapshot_anomalies" ADD "group_id" uuid`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "snapshot_anomalies" WHERE "repository_id" IS NULL`);
    await queryRunner.query(`ALTER TABLE "snapshot_anomalies" DROP COLUMN "group_id"`);
    await queryRunner.query(`ALTER TABLE "snapshot_anomalies" ALTER COLUMN "repository_id" SET NOT NULL`);
  }
}
