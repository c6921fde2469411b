export {
  AgentHub,
  type AgentHubOptions,
  type AgentEventListener,
  type ConnectionListener,
  type HubLogger,
  type ReconcileContext,
  type ReconcileHook,
} from './hub.js';
export { HostStore, type IssuedToken } from './host-store.js';
export { diffReports, describeDifference, type StateDifference } from './reconcile.js';
export {
  ensureServerCertificate,
  certificateFingerprint,
  normalizeFingerprint,
  type ServerCertificate,
} from './tls.js';
export { planVmReconcile, vmReconciler, type VmCorrection } from './vm-reconciler.js';
export { fencedHostReadmission, staleDomains } from './fenced-readmit.js';
