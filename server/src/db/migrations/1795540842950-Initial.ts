import { MigrationInterface, QueryRunner } from 'typeorm';

export class Initial1795540842950 implements MigrationInterface {
  name = 'Initial1795540842950';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "api_tokens" ("id" uuid NOT NULL, "name" text NOT NULL, "role" text NOT NULL, "token_hash" text NOT NULL, "prefix" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_used_at" TIMESTAMP WITH TIME ZONE, "expires_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, "is_bootstrap" boolean NOT NULL DEFAULT false, CONSTRAINT "PK_c587455266b5fa8dace7194caac" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "IDX_bbd687a104e1921e6702c6e3aa" ON "api_tokens"  ("token_hash") `);
    await queryRunner.query(
      `CREATE TABLE "connections" ("id" uuid NOT NULL, "instance_url" text NOT NULL, "method" text NOT NULL, "status" text NOT NULL, "status_reason" text, "login" text, "gitlab_user_id" integer, "gitlab_username" text, "gitlab_user_name" text, "gitlab_user_web_url" text, "scopes" text array NOT NULL DEFAULT '{}', "credential_id" uuid, "oauth_client_id" text, "access_token_ciphertext" bytea, "refresh_token_ciphertext" bytea, "token_expires_at" TIMESTAMP WITH TIME ZONE, "ca_certificate" text, "organization_defaults" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "connected_at" TIMESTAMP WITH TIME ZONE, "disconnected_at" TIMESTAMP WITH TIME ZONE, "token_refreshed_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_0a1f844af3122354cbd487a8d03" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_6a439d6dd6c0eceb3ccadab1d3" ON "connections"  ("status") `);
    await queryRunner.query(
      `CREATE TABLE "oauth_attempts" ("id" uuid NOT NULL, "connection_id" uuid NOT NULL, "state_hash" text NOT NULL, "code_verifier_ciphertext" bytea NOT NULL, "scopes" text array NOT NULL, "redirect_uri" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "consumed_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_04665f69138d31a6a058e59a9dc" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_c796a8b4b7947ac3d5a557785e" ON "oauth_attempts"  ("connection_id") `);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_574a4d3e8d6ee53b37c9dac2a0" ON "oauth_attempts"  ("state_hash") `,
    );
    await queryRunner.query(
      `CREATE TABLE "credentials" ("id" uuid NOT NULL, "name" text NOT NULL, "kind" text NOT NULL, "username" text, "secret_ciphertext" bytea NOT NULL, "fingerprint" text NOT NULL, "description" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "rotated_at" TIMESTAMP WITH TIME ZONE, "last_used_at" TIMESTAMP WITH TIME ZONE, "expires_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_1e38bc43be6697cdda548ad27a6" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "IDX_03fa0f30ef826a421f8b5be53e" ON "credentials"  ("name") `);
    await queryRunner.query(
      `CREATE TABLE "organizations" ("id" uuid NOT NULL, "connection_id" uuid NOT NULL, "gitlab_namespace_id" integer NOT NULL, "kind" text NOT NULL, "full_path" text NOT NULL, "name" text NOT NULL, "web_url" text NOT NULL, "auto_add_new_repositories" boolean NOT NULL, "include_groups" boolean NOT NULL, "repo_sync_schedule" jsonb NOT NULL, "default_worker_id" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "next_sync_at" TIMESTAMP WITH TIME ZONE, "last_synced_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_6b031fcd0863e3f6b44230163f9" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_fac9df1f77e174ba8bd067d217" ON "organizations"  ("connection_id", "gitlab_namespace_id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "repositories" ("id" uuid NOT NULL, "organization_id" uuid NOT NULL, "gitlab_project_id" integer NOT NULL, "name" text NOT NULL, "path_with_namespace" text NOT NULL, "http_url_to_repo" text NOT NULL, "ssh_url_to_repo" text NOT NULL, "web_url" text NOT NULL, "default_branch" text, "visibility" text NOT NULL, "is_archived" boolean NOT NULL, "is_empty" boolean NOT NULL, "last_activity_at" TIMESTAMP WITH TIME ZONE, "repository_size" bigint, "wiki_size" bigint, "lfs_objects_size" bigint, "storage_size" bigint, "has_wiki" boolean NOT NULL, "has_lfs" boolean NOT NULL, "is_protected" boolean NOT NULL, "discovered_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL, "deleted_upstream_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_ef0c358c04b4f4d29b8ca68ddff" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_1544cc55d027bfccf0707d7b13" ON "repositories"  ("organization_id") `);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_ec5be125bfec375f4834b39d4c" ON "repositories"  ("organization_id", "gitlab_project_id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "gitlab_groups" ("id" uuid NOT NULL, "organization_id" uuid NOT NULL, "gitlab_group_id" integer NOT NULL, "parent_gitlab_group_id" integer, "full_path" text NOT NULL, "name" text NOT NULL, "visibility" text NOT NULL, "web_url" text NOT NULL, "description" text, "discovered_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL, "deleted_upstream_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_ea62b0444aa16f7e346c78cbfac" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_ac5d5e6943641ace62066a98b4" ON "gitlab_groups"  ("organization_id") `);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_431f0f9afe514f74e2edd568ed" ON "gitlab_groups"  ("organization_id", "gitlab_group_id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "sync_runs" ("id" uuid NOT NULL, "organization_id" uuid NOT NULL, "trigger" text NOT NULL, "status" text NOT NULL, "repositories_found" integer NOT NULL DEFAULT '0', "repositories_added" integer NOT NULL DEFAULT '0', "repositories_gone" integer NOT NULL DEFAULT '0', "groups_found" integer NOT NULL DEFAULT '0', "error_code" text, "error_message" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_adf13fff41a683b3b991fb90b11" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_62877f26fb52f671a15433f4cd" ON "sync_runs"  ("organization_id") `);
    await queryRunner.query(
      `CREATE TABLE "workers" ("id" uuid NOT NULL, "name" text NOT NULL, "host" text NOT NULL, "pid" integer, "version" text NOT NULL, "concurrency" integer NOT NULL, "is_in_process" boolean NOT NULL, "started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last_heartbeat_at" TIMESTAMP WITH TIME ZONE NOT NULL, "stopped_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_e950c9aba3bd84a4f193058d838" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "IDX_337fc312d59870cf6c6b902019" ON "workers"  ("name") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_337fc312d59870cf6c6b902019"`);
    await queryRunner.query(`DROP TABLE "workers"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_62877f26fb52f671a15433f4cd"`);
    await queryRunner.query(`DROP TABLE "sync_runs"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_431f0f9afe514f74e2edd568ed"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_ac5d5e6943641ace62066a98b4"`);
    await queryRunner.query(`DROP TABLE "gitlab_groups"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_ec5be125bfec375f4834b39d4c"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_1544cc55d027bfccf0707d7b13"`);
    await queryRunner.query(`DROP TABLE "repositories"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_fac9df1f77e174ba8bd067d217"`);
    await queryRunner.query(`DROP TABLE "organizations"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_03fa0f30ef826a421f8b5be53e"`);
    await queryRunner.query(`DROP TABLE "credentials"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_574a4d3e8d6ee53b37c9dac2a0"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_c796a8b4b7947ac3d5a557785e"`);
    await queryRunner.query(`DROP TABLE "oauth_attempts"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_6a439d6dd6c0eceb3ccadab1d3"`);
    await queryRunner.query(`DROP TABLE "connections"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_bbd687a104e1921e6702c6e3aa"`);
    await queryRunner.query(`DROP TABLE "api_tokens"`);
  }
}
