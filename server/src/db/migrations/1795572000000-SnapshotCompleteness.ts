import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A snapshot records whether it holds everything its policy asked for (no metadata type FAILED or
 * read incompletely, no LFS object missing or failed): an incomplete snapshot is never the reason to skip a
 * repository as unchanged. Existing snapshots are judged by the item that made them: PARTIAL, or
 * with an LFS warning, means incomplete.
 */
export class SnapshotCompleteness1795572000000 implements MigrationInterface {
  name = 'SnapshotCompleteness1795572000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "snapshots" ADD "is_complete" boolean NOT NULL DEFAULT true`);
    await queryRunner.query(
      `UPDATE "snapshots" s SET "is_complete" = false
              WHERE EXISTS (SELECT 1 FROM "backup_run_items" i
                             WHERE i."snapshot_id" = s."id" AND i."run_id" = s."run_id"
                               AND (i."status" = 'PARTIAL' OR i."warnings"::text LIKE '%"lfs: %'))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "snapshots" DROP COLUMN "is_complete"`);
  }
}
