import type { FastifyInstance } from 'fastify';
import { isAdmin } from '../services/actor.js';

/**
 * Fields only an operator reads: a volume's or snapshot's `backendRef` is the backend's own name
 * or path (a file on a host, an RBD image), the operator's infrastructure like pool URLs
 * (docs/security.md, "What a tenant sees"). Removed from every answer to anyone else, wherever
 * the object sits (a page, a job's accepted answer), so no route can forget it.
 */
export const OPERATOR_ONLY_FIELDS: ReadonlySet<string> = new Set(['backendRef']);

/** A copy without the operator's fields (the handler's object may be shared, so never edited). */
export function withoutOperatorFields(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => withoutOperatorFields(v, depth + 1));
  if (!isPlain(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    if (!OPERATOR_ONLY_FIELDS.has(k)) out[k] = withoutOperatorFields(v, depth + 1);
  return out;
}

function isPlain(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Runs before serialization, on the object the handler answered. */
export function installOperatorFields(app: FastifyInstance): void {
  app.addHook('preSerialization', async (req, _reply, payload) => {
    return req.actor && !isAdmin(req.actor) ? withoutOperatorFields(payload) : payload;
  });
}
