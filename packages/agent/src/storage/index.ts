export * from './driver-factories.js';
export * from './storage-node.js';
export * from './handlers.js';
