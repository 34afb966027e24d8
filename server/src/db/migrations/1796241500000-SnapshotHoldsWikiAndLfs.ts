import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a snapshot's restore point holds, recorded with its row so a page of repositories can say
 * "wiki" and "LFS" from the rows it already reads (null for snapshots written before: unknown).
 */
export class SnapshotHoldsWikiAndLfs1796241500000 implements MigrationInterface {
  name = 'SnapshotHoldsWikiAndLfs1796241500000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "snapshots" ADD "holds_wiki" boolean`);
    await queryRunner.query(`ALTER TABLE "snapshots" ADD "holds_lfs_objects" boolean`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "snapshots" DROP COLUMN "holds_lfs_objects"`);
    await queryRunner.query(`ALTER TABLE "snapshots" DROP COLUMN "holds_wiki"`);
  }
}
