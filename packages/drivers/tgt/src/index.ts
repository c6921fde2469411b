export * from './driver.js';
export * from './config.js';
export * from './capabilities.js';
export { parseTargets, type TargetState } from './tgtadm.js';
