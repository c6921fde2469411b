export * from './init-script.js';
export * from './build-guest.js';
export * from './writer-log.js';
export * from './writer-analysis.js';
export * from './guest-exec.js';
export * from './boot-test-guest.js';
