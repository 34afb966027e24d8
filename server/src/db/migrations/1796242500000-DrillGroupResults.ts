import { MigrationInterface, QueryRunner } from 'typeorm';

/** Drills also restore the organization's group snapshots: their results beside the repositories'. */
export class DrillGroupResults1796242500000 implements MigrationInterface {
  name = 'DrillGroupResults1796242500000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "drill_runs" ADD "group_results" jsonb NOT NULL DEFAULT '[]'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "drill_runs" DROP COLUMN "group_results"`);
  }
}
