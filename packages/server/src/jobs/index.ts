export type * from './types.js';
export { createJobEngine } from './engine.js';
export { registerJobMetrics } from './metrics.js';
