export * from './driver.js';
export * from './capabilities.js';
