export * from './suite.js';
export * from './qemu-io.js';
export * from './fake-driver.js';
