import { MigrationInterface, QueryRunner } from 'typeorm';

export class GroupSnapshots1795544640496 implements MigrationInterface {
  name = 'GroupSnapshots1795544640496';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "backup_run_items" ADD "group_id" uuid`);
    await queryRunner.query(`ALTER TABLE "snapshots" ADD "group_id" uuid`);
    await queryRunner.query(`DROP INDEX "public"."IDX_a6a91666b0e716c4b3ee9f96d4"`);
    await queryRunner.query(`ALTER TABLE "backup_run_items" ALTER COLUMN "repository_id" DROP NOT NULL`);
    await queryRunner.query(`ALTER TABLE "snapshots" ALTER COLUMN "repository_id" DROP NOT NULL`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_a6a91666b0e716c4b3ee9f96d4" ON "backup_run_items"  ("run_id", "repository_id") `,
    );
    await queryRunner.query(`CREATE INDEX "IDX_8bf972da04587fcaa5c2f6b91f" ON "snapshots"  ("group_id") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_8bf972da04587fcaa5c2f6b91f"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_a6a91666b0e716c4b3ee9f96d4"`);
    await queryRunner.query(`ALTER TABLE "snapshots" ALTER COLUMN "repository_id" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "backup_run_items" ALTER COLUMN "repository_id" SET NOT NULL`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_a6a91666b0e716c4b3ee9f96d4" ON "backup_run_items" USING btree ("repository_id", "run_id") `,
    );
    await queryRunner.query(`ALTER TABLE "snapshots" DROP COLUMN "group_id"`);
    await queryRunner.query(`ALTER TABLE "backup_run_items" DROP COLUMN "group_id"`);
  }
}
