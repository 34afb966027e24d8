import { MigrationInterface, QueryRunner } from 'typeorm';

/** Replica copies written under S3 Object Lock record the date their lock ends, as snapshots do. */
export class SnapshotCopyObjectLock1796240500000 implements MigrationInterface {
  name = 'SnapshotCopyObjectLock1796240500000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "snapshot_copies" ADD "locked_until" TIMESTAMP WITH TIME ZONE`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "snapshot_copies" DROP COLUMN "locked_until"`);
  }
}
