export type { Database, Queryable } from './database.js';
export { openDatabase } from './open.js';
export { migrate } from './migrate.js';
