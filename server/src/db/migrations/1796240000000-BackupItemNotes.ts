import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A backup item's notes: plain facts that are not problems, e.g. a group's epics on a GitLab tier
 * without them. They used to be warnings, which made every run of a Free group look partial.
 */
export class BackupItemNotes1796240000000 implements MigrationInterface {
  name = 'BackupItemNotes1796240000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "backup_run_items" ADD "notes" jsonb NOT NULL DEFAULT '[]'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "backup_run_items" DROP COLUMN "notes"`);
  }
}
