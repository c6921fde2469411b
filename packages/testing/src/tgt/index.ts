export * from './reflink-pool.js';
export * from './tgtd.js';
export * from './run.js';
export * from './stale-targets.js';
export * from './own-tgtd.js';
