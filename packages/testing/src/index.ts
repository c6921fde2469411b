export {};
export * from './ceph/index.js';
export * from './tgt/index.js';
export * from './postgres/index.js';
export * from './libvirt/index.js';
export * from './guest/index.js';
export * from './conformance/index.js';
export * from './hosts/index.js';
