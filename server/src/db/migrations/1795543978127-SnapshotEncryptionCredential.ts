import { MigrationInterface, QueryRunner } from 'typeorm';

export class SnapshotEncryptionCredential1795543978127 implements MigrationInterface {
  name = 'SnapshotEncryptionCredential1795543978127';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "snapshots" ADD "encryption_credential_id" uuid`);
    await queryRunner.query(
      `CREATE INDEX "IDX_bcc1033516450e402690b12656" ON "snapshots"  ("encryption_credential_id") `,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_bcc1033516450e402690b12656"`);
    await queryRunner.query(`ALTER TABLE "snapshots" DROP COLUMN "encryption_credential_id"`);
  }
}
