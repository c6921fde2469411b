export * from './priority.js';
export * from './request.js';
export * from './select.js';
export * from './quiesce.js';
export * from './checks.js';
export * from './tree.js';
export * from './registry.js';
