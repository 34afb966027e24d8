import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Event-driven backups: each organization's group webhook (its sealed secret and state), the
 * webhook deliveries received (unique per organization and GitLab's delivery key, so a retried or
 * twice-received delivery counts once), and the repositories waiting for their EVENT backup.
 */
export class EventDrivenBackups1796212718570 implements MigrationInterface {
  name = 'EventDrivenBackups1796212718570';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "event_hooks" (
        "organization_id" uuid NOT NULL,
        "is_enabled" boolean NOT NULL,
        "secret_ciphertext" bytea,
        "gitlab_hook_id" integer,
        "state" text NOT NULL,
        "problem" text,
        "checked_at" TIMESTAMP WITH TIME ZONE,
        "registered_at" TIMESTAMP WITH TIME ZONE,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_event_hooks" PRIMARY KEY ("organization_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "webhook_deliveries" (
        "id" uuid NOT NULL,
        "organization_id" uuid NOT NULL,
        "delivery_key" text NOT NULL,
        "event" text NOT NULL,
        "kind" text NOT NULL,
        "gitlab_project_id" integer,
        "repository_id" uuid,
        "received_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "PK_webhook_deliveries" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_webhook_deliveries_key" ON "webhook_deliveries" ("organization_id", "delivery_key")`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_webhook_deliveries_received" ON "webhook_deliveries" ("received_at")`);
    await queryRunner.query(
      `CREATE TABLE "event_backup_pending" (
        "repository_id" uuid NOT NULL,
        "organization_id" uuid NOT NULL,
        "first_event_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "last_event_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "due_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "events" integer NOT NULL,
        "kinds" jsonb NOT NULL,
        CONSTRAINT "PK_event_backup_pending" PRIMARY KEY ("repository_id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_event_backup_pending_org" ON "event_backup_pending" ("organization_id")`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_event_backup_pending_due" ON "event_backup_pending" ("due_at")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "event_backup_pending"`);
    await queryRunner.query(`DROP TABLE "webhook_deliveries"`);
    await queryRunner.query(`DROP TABLE "event_hooks"`);
  }
}
