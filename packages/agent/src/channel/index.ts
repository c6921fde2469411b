export { AgentChannel, type AgentChannelOptions, type ChannelState } from './agent-channel.js';
export {
  dispatch,
  handledCommands,
  type CommandContext,
  type CommandHandler,
  type CommandHandlers,
} from './dispatcher.js';
export { loadCredentials, saveCredentials, type AgentCredentials } from './credentials-file.js';
export { backoffDelay, defaultBackoff, type BackoffOptions } from './backoff.js';
export { checkPinnedCertificate, normalizeFingerprint } from './pinning.js';
