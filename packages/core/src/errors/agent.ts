import { defineErrors } from './spec.js';

/** Errors of the agent area. */
export const agentErrors = defineErrors('agent', {
  // The agent channel (docs/agent-channel.md): registration, authentication, commands.
  AGENT_AUTH_FAILED: {
    status: 401,
    retryable: false,
    message: 'Agent authentication failed for host {hostId}: {reason}',
    recovery: 'Check the agent credentials file; if the host was removed or its secret revoked, register it again with a new registration token.',
  },
  AGENT_REGISTRATION_REFUSED: {
    status: 401,
    retryable: false,
    message: 'Host registration refused: {reason}',
    recovery: 'Registration tokens are one-time and expire: ask an administrator for a new one.',
  },
  AGENT_FINGERPRINT_MISMATCH: {
    status: 502,
    retryable: false,
    message: 'Server certificate fingerprint {actual} does not match the pinned fingerprint {expected}',
    recovery: 'Do not connect: either the server certificate was replaced (pin the fingerprint the administrator gives) or something intercepts the connection.',
  },
  AGENT_PROTOCOL_MISMATCH: {
    status: 400,
    retryable: false,
    message: 'Agent channel protocol {version} is not supported (this side speaks {supported})',
    recovery: 'Upgrade the agent or the server so both speak the same protocol version.',
  },
  AGENT_UNKNOWN_COMMAND: {
    status: 501,
    retryable: false,
    message: 'The agent does not handle command {command}',
    recovery: 'Upgrade the agent, or use a command it reports in its capabilities.',
  },
});
