export { RbdDriver } from './driver.js';
export { createRbdDriver, type RbdDriverConfig } from './config.js';
export { rbdCapabilities } from './capabilities.js';
export { CephCli, type CephAccess } from './cli.js';
export { imageName, snapName, hostUser } from './names.js';
export { rbdQosSettings, readRbdQos } from './qos.js';
export { withRbdImageOpts, rbdWrite, rbdHolds, rbdOpenError } from './qemu-rbd.js';
export { rbdBurstSeconds } from './qos.js';
