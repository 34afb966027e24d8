import { MigrationInterface, QueryRunner } from 'typeorm';

/** Snapshots written under S3 Object Lock record the date their lock ends. */
export class SnapshotObjectLock1796226111184 implements MigrationInterface {
  name = 'SnapshotObjectLock1796226111184';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "snapshots" ADD "locked_until" TIMESTAMP WITH TIME ZONE`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "snapshots" DROP COLUMN "locked_until"`);
  }
}
