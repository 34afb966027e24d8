import { MigrationInterface, QueryRunner } from 'typeorm';

/** Replicas of snapshots on other storages (3-2-1): one row per snapshot and replica storage. */
export class SnapshotCopies1796223142592 implements MigrationInterface {
  name = 'SnapshotCopies1796223142592';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "snapshot_copies" (
        "snapshot_id" uuid NOT NULL,
        "storage_id" uuid NOT NULL,
        "storage_root" text NOT NULL,
        "status" text NOT NULL,
        "attempts" integer NOT NULL DEFAULT 0,
        "copied_at" TIMESTAMP WITH TIME ZONE,
        "verification_status" text NOT NULL DEFAULT 'UNVERIFIED',
        "verified_at" TIMESTAMP WITH TIME ZONE,
        "error" text,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "PK_snapshot_copies" PRIMARY KEY ("snapshot_id", "storage_id"),
        CONSTRAINT "FK_snapshot_copies_snapshot" FOREIGN KEY ("snapshot_id") REFERENCES "snapshots"("id") ON DELETE CASCADE)`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_snapshot_copies_storage" ON "snapshot_copies" ("storage_id")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "snapshot_copies"`);
  }
}
