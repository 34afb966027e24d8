import { MigrationInterface, QueryRunner } from 'typeorm';

/** A worker reports how many jobs it was running at each heartbeat (its load). */
export class WorkerRunningJobs1795560000000 implements MigrationInterface {
  name = 'WorkerRunningJobs1795560000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "workers" ADD "running_jobs" integer NOT NULL DEFAULT '0'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "workers" DROP COLUMN "running_jobs"`);
  }
}
