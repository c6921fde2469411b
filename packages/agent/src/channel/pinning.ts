import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { StrataError } from '@strata/core';

/** Upper-case hex without separators: `ab:cd…` and `ABCD…` pin the same certificate. */
export function normalizeFingerprint(value: string): string {
  return value.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
}

/**
 * Checks the certificate the server presented against the pinned SHA-256 fingerprint. The agent
 * trusts no CA: this check is the server's whole authentication, so it runs before the agent
 * sends anything secret (its credentials go in the first WebSocket frame, after this).
 */
export function checkPinnedCertificate(response: IncomingMessage, pinned: string): void {
  const socket = response.socket as TLSSocket;
  const actual =
    typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate().fingerprint256 : undefined;
  if (!actual || normalizeFingerprint(actual) !== normalizeFingerprint(pinned)) {
    throw new StrataError('AGENT_FINGERPRINT_MISMATCH', {
      actual: actual ?? 'none (no TLS)',
      expected: pinned,
    });
  }
}
