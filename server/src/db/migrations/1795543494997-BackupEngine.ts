import { MigrationInterface, QueryRunner } from 'typeorm';

export class BackupEngine1795543494997 implements MigrationInterface {
  name = 'BackupEngine1795543494997';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "backup_policies" ("id" uuid NOT NULL, "organization_id" uuid NOT NULL, "value" jsonb NOT NULL, "chain_key" text NOT NULL, "next_backup_at" TIMESTAMP WITH TIME ZONE, "next_copy_type" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_260ee37c86657e1679e3cb73333" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_b1069306009fcf11350c753d2a" ON "backup_policies"  ("organization_id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "backup_runs" ("id" uuid NOT NULL, "organization_id" uuid NOT NULL, "trigger" text NOT NULL, "copy_type" text NOT NULL, "status" text NOT NULL, "policy" jsonb NOT NULL, "chain_key" text NOT NULL, "items_total" integer NOT NULL DEFAULT '0', "bytes_written" bigint NOT NULL DEFAULT '0', "error_code" text, "error_message" text, "window_ends_at" TIMESTAMP WITH TIME ZONE, "cancel_requested_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_fae0096e47c04baf8723aa492e1" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_ef5eb414ae9c1c72f2df918a74" ON "backup_runs"  ("organization_id") `);
    await queryRunner.query(`CREATE INDEX "IDX_989e89e18ef9469368115a22b6" ON "backup_runs"  ("status") `);
    await queryRunner.query(
      `CREATE TABLE "backup_run_items" ("id" uuid NOT NULL, "run_id" uuid NOT NULL, "repository_id" uuid NOT NULL, "path_with_namespace" text NOT NULL, "status" text NOT NULL, "phase" text NOT NULL, "attempts" integer NOT NULL DEFAULT '0', "size_hint" bigint NOT NULL DEFAULT '0', "bytes_received" bigint NOT NULL DEFAULT '0', "objects_received" integer NOT NULL DEFAULT '0', "bytes_written" bigint NOT NULL DEFAULT '0', "snapshot_id" uuid, "warnings" jsonb NOT NULL DEFAULT '[]', "error_code" text, "error_message" text, "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_3eaee6327a919f600c2e00438c7" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_052aeb11fb1bc2c83a1a44ad9a" ON "backup_run_items"  ("run_id") `);
    await queryRunner.query(`CREATE INDEX "IDX_8e1d2a27ab42883fa2417552db" ON "backup_run_items"  ("repository_id") `);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_a6a91666b0e716c4b3ee9f96d4" ON "backup_run_items"  ("run_id", "repository_id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "snapshots" ("id" uuid NOT NULL, "repository_id" uuid NOT NULL, "organization_id" uuid NOT NULL, "run_id" uuid NOT NULL, "copy_type" text NOT NULL, "parent_id" uuid, "chain_key" text NOT NULL, "storage_root" text NOT NULL, "storage_prefix" text NOT NULL, "manifest_sha256" text NOT NULL, "size_bytes" bigint NOT NULL, "artifact_count" integer NOT NULL, "ref_count" integer NOT NULL, "metadata_counts" jsonb NOT NULL DEFAULT '{}', "verification_status" text NOT NULL DEFAULT 'UNVERIFIED', "verified_at" TIMESTAMP WITH TIME ZONE, "verification_error" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_f5661b5fd4224d23e26a631986b" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_fb559bec4cda3b9ca4c668450c" ON "snapshots"  ("repository_id") `);
    await queryRunner.query(`CREATE INDEX "IDX_3b03291ada4d6a2d2d187b5f3b" ON "snapshots"  ("organization_id") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_3b03291ada4d6a2d2d187b5f3b"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_fb559bec4cda3b9ca4c668450c"`);
    await queryRunner.query(`DROP TABLE "snapshots"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_a6a91666b0e716c4b3ee9f96d4"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_8e1d2a27ab42883fa2417552db"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_052aeb11fb1bc2c83a1a44ad9a"`);
    await queryRunner.query(`DROP TABLE "backup_run_items"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_989e89e18ef9469368115a22b6"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_ef5eb414ae9c1c72f2df918a74"`);
    await queryRunner.query(`DROP TABLE "backup_runs"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_b1069306009fcf11350c753d2a"`);
    await queryRunner.query(`DROP TABLE "backup_policies"`);
  }
}
