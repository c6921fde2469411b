export * from './suite.js';
export * from './qemu-io.js';
