import { MigrationInterface, QueryRunner } from 'typeorm';

/** The audit log (server/src/audit): one row per mutation or sign-in, kept for the retention period. */
export class AuditEvents1796214864281 implements MigrationInterface {
  name = 'AuditEvents1796214864281';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "audit_events" ("id" uuid NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL, "token_id" uuid, "token_name" text, "token_role" text, "operation" text NOT NULL, "transport" text NOT NULL, "arguments" jsonb NOT NULL, "result" text NOT NULL, "error_code" text, "client_address" text NOT NULL, "user_agent" text, CONSTRAINT "PK_audit_events" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_audit_events_at" ON "audit_events" ("at", "id")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "audit_events"`);
  }
}
