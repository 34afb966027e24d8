import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes for the queries the web client issues on every page (README "API performance"): a page
 * of an organization's repositories in path order, each repository's newest snapshot (DISTINCT ON
 * over the page's ids), each organization's latest sync and latest backup run, a page of groups.
 * Each matches its query's ORDER BY (read backwards for "newest first"), so a page reads only its
 * rows instead of sorting the organization.
 */
export class ApiQueryIndexes1796212696786 implements MigrationInterface {
  name = 'ApiQueryIndexes1796212696786';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "IDX_repositories_org_path" ON "repositories" ("organization_id", "path_with_namespace", "id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_snapshots_repository_created" ON "snapshots" ("repository_id", "created_at", "id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_sync_runs_org_created" ON "sync_runs" ("organization_id", "created_at", "id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_backup_runs_org_created" ON "backup_runs" ("organization_id", "created_at", "id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_gitlab_groups_org_path" ON "gitlab_groups" ("organization_id", "full_path", "id")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const name of [
      'IDX_gitlab_groups_org_path',
      'IDX_backup_runs_org_created',
      'IDX_sync_runs_org_created',
      'IDX_snapshots_repository_created',
      'IDX_repositories_org_path',
    ]) {
      await queryRunner.query(`DROP INDEX "public"."${name}"`);
    }
  }
}
