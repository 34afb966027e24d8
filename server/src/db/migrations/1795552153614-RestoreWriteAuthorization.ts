import { MigrationInterface, QueryRunner } from 'typeorm';

export class RestoreWriteAuthorization1795552153614 implements MigrationInterface {
  name = 'RestoreWriteAuthorization1795552153614';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "connections" ADD "write_access_token_ciphertext" bytea`);
    await queryRunner.query(`ALTER TABLE "connections" ADD "write_refresh_token_ciphertext" bytea`);
    await queryRunner.query(`ALTER TABLE "connections" ADD "write_token_expires_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "connections" ADD "write_scopes" text array NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "connections" ADD "write_authorized_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "oauth_attempts" ADD "purpose" text NOT NULL DEFAULT 'CONNECT'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "oauth_attempts" DROP COLUMN "purpose"`);
    await queryRunner.query(`ALTER TABLE "connections" DROP COLUMN "write_authorized_at"`);
    await queryRunner.query(`ALTER TABLE "connections" DROP COLUMN "write_scopes"`);
    await queryRunner.query(`ALTER TABLE "connections" DROP COLUMN "write_token_expires_at"`);
    await queryRunner.query(`ALTER TABLE "connections" DROP COLUMN "write_refresh_token_ciphertext"`);
    await queryRunner.query(`ALTER TABLE "connections" DROP COLUMN "write_access_token_ciphertext"`);
  }
}
