export * from './kvm-host.js';
export { DEFAULT_HOST_STATE_DIR } from './host-dirs.js';
export { hostProcesses } from './namespace.js';
export { HOSTS_ROOT, reapStaleHosts } from './stale-hosts.js';
export * from './persistent-host.js';
