export { Metrics } from './metrics.js';
export { createLogger, type Logger } from './logger.js';
