import { StrataError, type Refusal, type Role } from '@strata/core';

/**
 * Who is calling: every service method takes one. An admin (operator) sees all accounts; an
 * account admin and a user only their own.
 */
export interface Actor {
  readonly accountId: string;
  readonly userId: string | null;
  readonly role: Role;
  /** How the caller proved who it is (for logs and audit). */
  readonly via: 'api-key' | 'session' | 'system';
  /** The API key a signed request was checked with: rate limits are kept per key. */
  readonly apiKey?: string;
}

/** The server itself (bootstrap, jobs, agent channel). */
export const SYSTEM_ACTOR: Actor = { accountId: 'system', userId: null, role: 'admin', via: 'system' };

export function isAdmin(actor: Actor): boolean {
  return actor.role === 'admin';
}

export function requireAdmin(actor: Actor, action: string): void {
  if (!isAdmin(actor)) throw new StrataError('AUTH_FORBIDDEN', { action, role: 'admin' });
}

/**
 * Another account's resource is answered as NOT_FOUND: the caller learns nothing about ids it
 * does not own (docs/api.md, "Accounts and scope").
 */
export function ensureVisible(actor: Actor, kind: string, id: string, ownerAccountId: string): void {
  if (!isAdmin(actor) && ownerAccountId !== actor.accountId) throw new StrataError('NOT_FOUND', { kind, id });
}

/** Turns a role refusal (core `managementRefusal`) into the error the caller sees. */
export function enforce(refusal: Refusal | null, kind: string, id: string): void {
  if (!refusal) return;
  if (refusal.reason === 'another-account') throw new StrataError('NOT_FOUND', { kind, id });
  throw new StrataError('AUTH_FORBIDDEN', { action: refusal.action, role: refusal.role });
}
