import { MigrationInterface, QueryRunner } from 'typeorm';

/** A DOWNLOAD archive written to an S3 storage (handed over as a presigned URL) records that storage's root. */
export class RestorePresignedDownload1796241000000 implements MigrationInterface {
  name = 'RestorePresignedDownload1796241000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "restore_runs" ADD "download_root" text`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "restore_runs" DROP COLUMN "download_root"`);
  }
}
