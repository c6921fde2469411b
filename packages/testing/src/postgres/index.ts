export * from './ensure-postgres.js';
export * from './test-database.js';
export * from './stack-database.js';
