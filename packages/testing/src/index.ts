export {};
export * from './ceph/index.js';
export * from './tgt/index.js';
