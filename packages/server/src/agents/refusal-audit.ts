import { isStrataError, type HelloMessage, type RegisterMessage } from '@strata/core';
import type { AuditLog } from '../services/audit.js';

/** Refusals that say someone held a wrong or spent credential; a version mismatch is not one. */
const AUDITED = new Set(['AGENT_AUTH_FAILED', 'AGENT_REGISTRATION_REFUSED', 'AGENT_HOST_NAME_TAKEN']);

/**
 * Records a refused agent handshake: which door (registration or hello), the code and the host
 * it claimed to be (a name or id, cut to 128 characters). Never the token or the secret.
 */
export async function auditAgentRefusal(
  audit: AuditLog,
  err: unknown,
  hello: RegisterMessage | HelloMessage,
  remoteAddress: string | undefined,
): Promise<void> {
  if (!isStrataError(err) || !AUDITED.has(err.code)) return;
  const claimed = hello.kind === 'register' ? hello.facts.hostname : hello.hostId;
  await audit.record({
    kind: 'agent.refused',
    via: hello.kind === 'register' ? 'agent-registration' : 'agent-hello',
    code: err.code,
    remoteAddress: remoteAddress ?? null,
    details: { claimedHost: String(claimed).slice(0, 128) },
  });
}
