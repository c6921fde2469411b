import { errorRegistry, type ErrorCode } from '../errors/registry.js';
import { StrataError } from '../errors/strata-error.js';
import type { WireError } from './protocol.js';

/**
 * Turns a wire error back into a StrataError with the same code and params, so a caller on the
 * server tests `code` exactly as if the agent's code had thrown locally. Codes this side does not
 * know (a newer agent) become INTERNAL carrying the original code and message.
 */
export function fromWireError(error: WireError): StrataError {
  if (errorRegistry.has(error.code)) {
    return new StrataError(error.code as ErrorCode, { ...(error.details ?? {}) });
  }
  return new StrataError('INTERNAL', { reason: `${error.code}: ${error.message}` });
}
