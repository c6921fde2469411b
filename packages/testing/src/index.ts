export {};
export * from './ceph/index.js';
