import { MigrationInterface, QueryRunner } from 'typeorm';

/** Notification channels, alerts (one row per occurrence) and their deliveries (one per alert and channel). */
export class NotificationChannels1796223190411 implements MigrationInterface {
  name = 'NotificationChannels1796223190411';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "notification_channels" ("id" uuid NOT NULL, "name" text NOT NULL, "kind" text NOT NULL, "organization_id" uuid, "is_enabled" boolean NOT NULL DEFAULT true, "rules" jsonb NOT NULL, "settings" jsonb NOT NULL, "secret_credential_id" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_notification_channels_id" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "IDX_notification_channels_name" ON "notification_channels" ("name")`);
    await queryRunner.query(
      `CREATE TABLE "alerts" ("id" uuid NOT NULL, "key" text NOT NULL, "kind" text NOT NULL, "organization_id" uuid, "title" text NOT NULL, "message" text NOT NULL, "link" text, "details" jsonb NOT NULL, "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_alerts_id" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "IDX_alerts_key" ON "alerts" ("key")`);
    await queryRunner.query(
      `CREATE TABLE "alert_deliveries" ("id" uuid NOT NULL, "alert_id" uuid NOT NULL REFERENCES "alerts" ("id") ON DELETE CASCADE, "channel_id" uuid NOT NULL REFERENCES "notification_channels" ("id") ON DELETE CASCADE, "status" text NOT NULL, "attempts" integer NOT NULL DEFAULT 0, "next_attempt_at" TIMESTAMP WITH TIME ZONE, "lease_until" TIMESTAMP WITH TIME ZONE, "last_error" text, "sent_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_alert_deliveries_id" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_alert_deliveries_alert_channel" ON "alert_deliveries" ("alert_id", "channel_id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_alert_deliveries_channel_created" ON "alert_deliveries" ("channel_id", "created_at")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "alert_deliveries"`);
    await queryRunner.query(`DROP TABLE "alerts"`);
    await queryRunner.query(`DROP TABLE "notification_channels"`);
  }
}
