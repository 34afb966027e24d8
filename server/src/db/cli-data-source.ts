/** For the TypeORM CLI (`npm run migration:generate -- server/src/db/migrations/<ts>-<Name>`): DATABASE_URL must be set. */
import { createDataSource } from './data-source.js';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL must name the database to diff against');
export default createDataSource(url);
