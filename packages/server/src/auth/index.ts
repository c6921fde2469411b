export * from './signature.js';
export * from './rest-signing.js';
export * from './passwords.js';
export { ReplayGuard } from './replay-guard.js';
export { SessionStore, type Session } from './sessions.js';
export { Authenticator, MAX_SIGNATURE_VALIDITY_MS, type RestRequestParts } from './authenticator.js';
export { bootstrapAdmin, CREDENTIALS_FILE, type BootstrapCredentials } from './bootstrap.js';
