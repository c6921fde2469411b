export * from './config.js';
export * from './launcher.js';
export * from './clients.js';
export { cleanEnv } from './exec.js';
