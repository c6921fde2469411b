export { bringUp, runDemo, type DemoOptions, type DemoRun, type Environment } from './demo.js';
export { addKvmHost, type JoinedKvmHost } from './kvm-hosts.js';
