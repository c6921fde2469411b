import { randomUUID } from 'node:crypto';
import {
  hostMachine,
  StrataError,
  type AgentStateReport,
  type HostFacts,
  type HostState,
} from '@strata/core';
import type { Database, Queryable } from '../db/index.js';
import { hashSecret, newSecret, secretMatches } from './secrets.js';

export interface IssuedToken {
  readonly id: string;
  /** Shown once: only its hash is stored. */
  readonly token: string;
  readonly clusterId: string;
  /** Set when the token re-registers this existing host (a reinstalled machine). */
  readonly hostId: string | null;
  readonly expiresAt: string;
}

interface HostRow {
  id: string;
  cluster_id: string;
  state: HostState;
  credential_hash: string | null;
  agent_report: AgentStateReport | null;
}

/** How long after a token is spent its host may spend it again while its welcome is unconfirmed. */
export const REGISTRATION_RETRY_MS = 10 * 60_000;

/** The channel's reads and writes of hosts, tokens and host events. */
export class HostStore {
  constructor(private readonly db: Database) {}

  async issueToken(clusterId: string, ttlMs: number): Promise<IssuedToken> {
    const clusters = await this.db.query('SELECT 1 FROM clusters WHERE id = $1', [clusterId]);
    if (clusters.length === 0) throw new StrataError('NOT_FOUND', { kind: 'Cluster', id: clusterId });
    return this.insertToken(clusterId, null, ttlMs);
  }

  /**
   * A token that re-registers one existing host under its name (the machine was reinstalled and
   * lost its credential): the only kind of token that re-keys a known host.
   */
  async issueHostToken(hostId: string, ttlMs: number): Promise<IssuedToken> {
    const [host] = await this.db.query<{ cluster_id: string; state: HostState }>(
      'SELECT cluster_id, state FROM hosts WHERE id = $1',
      [hostId],
    );
    if (!host || host.state === 'Removed') throw new StrataError('NOT_FOUND', { kind: 'host', id: hostId });
    return this.insertToken(host.cluster_id, hostId, ttlMs);
  }

  private async insertToken(clusterId: string, hostId: string | null, ttlMs: number): Promise<IssuedToken> {
    if (!Number.isInteger(ttlMs) || ttlMs <= 0) {
      throw new StrataError('INVALID_ARGUMENT', { field: 'ttlMs', reason: 'must be a whole number > 0' });
    }
    const id = randomUUID();
    const token = newSecret('strata-reg');
    const expiresAt = new Date(Date.now() + ttlMs).toISOString();
    await this.db.query(
      `INSERT INTO host_registration_tokens (id, token_hash, cluster_id, for_host_id, expires_at)
       VALUES ($1, $2, $3, $4, $5)`,
      [id, hashSecret(token), clusterId, hostId, expiresAt],
    );
    return { id, token, clusterId, hostId, expiresAt };
  }

  /**
   * Spends a registration token and gives the host its credentials, in one transaction. A host
   * already known by that name (a reinstalled machine) keeps its id and gets a new secret, the old
   * one stopping, only with a token an operator issued for that host (issueHostToken): any other
   * token is refused with AGENT_HOST_NAME_TAKEN, so a token cannot take a host over. A spent token is taken again only from the host that
   * spent it, before that host confirmed its welcome (see confirmRegistration), within
   * REGISTRATION_RETRY_MS and the token's life: its welcome was lost with the connection. The host
   * gets a new secret; the lost one never works.
   */
  async register(token: string, facts: HostFacts): Promise<{ hostId: string; secret: string }> {
    const refuse = (reason: string): never => {
      throw new StrataError('AGENT_REGISTRATION_REFUSED', { reason });
    };
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<{
        id: string;
        cluster_id: string;
        used_at: string | null;
        expired: boolean;
        retry_open: boolean;
        used_by: string | null;
        host_id: string | null;
        for_host_id: string | null;
      }>(
        `SELECT t.id, t.cluster_id, t.used_at, t.expires_at < now() AS expired, t.host_id, t.for_host_id,
                (t.confirmed_at IS NULL AND t.used_at > now() - make_interval(secs => $2)) AS retry_open,
                h.name AS used_by
           FROM host_registration_tokens t LEFT JOIN hosts h ON h.id = t.host_id
          WHERE t.token_hash = $1 FOR UPDATE OF t`,
        [hashSecret(token), REGISTRATION_RETRY_MS / 1000],
      );
      if (!row) return refuse('unknown registration token');
      if (row.expired) return refuse('registration token expired');
      const retry = row.used_at !== null && row.retry_open && row.used_by === facts.hostname;
      if (row.used_at !== null && !retry) return refuse('registration token already used');
      const secret = newSecret('strata-host');
      const [existing] = await tx.query<{ id: string; cluster_id: string; state: HostState }>(
        'SELECT id, cluster_id, state FROM hosts WHERE name = $1 FOR UPDATE',
        [facts.hostname],
      );
      let hostId: string;
      if (row.for_host_id !== null && existing?.id !== row.for_host_id)
        return refuse(`this token was issued for another host than ${facts.hostname}`);
      // A retry of this token's own lost welcome may find the host it created a moment ago.
      const ownHost =
        existing !== undefined && (row.for_host_id === existing.id || row.host_id === existing.id);
      if (existing && !ownHost) throw new StrataError('AGENT_HOST_NAME_TAKEN', { host: facts.hostname });
      if (existing) {
        if (existing.cluster_id !== row.cluster_id)
          return refuse(`host ${facts.hostname} belongs to another cluster`);
        if (existing.state === 'Removed')
          return refuse(`host name ${facts.hostname} belongs to a removed host`);
        hostId = existing.id;
        await tx.query('UPDATE hosts SET credential_hash = $2, credential_issued_at = now() WHERE id = $1', [
          hostId,
          hashSecret(secret),
        ]);
      } else {
        hostId = randomUUID();
        await tx.query(
          `INSERT INTO hosts (id, cluster_id, name, state, credential_hash, credential_issued_at)
           VALUES ($1, $2, $3, 'Connecting', $4, now())`,
          [hostId, row.cluster_id, facts.hostname, hashSecret(secret)],
        );
      }
      await writeFacts(tx, hostId, facts);
      await tx.query('UPDATE host_registration_tokens SET used_at = now(), host_id = $2 WHERE id = $1', [
        row.id,
        hostId,
      ]);
      await recordEvent(
        tx,
        hostId,
        'HOST.REGISTER',
        retry
          ? `host ${facts.hostname} registered again: its first welcome was never confirmed`
          : `host ${facts.hostname} registered`,
      );
      return { hostId, secret };
    });
  }

  /**
   * The host holds the credential its token bought (it spoke after its welcome, or said hello with
   * it): the token can no longer be spent again.
   */
  async confirmRegistration(hostId: string): Promise<void> {
    await this.db.query(
      'UPDATE host_registration_tokens SET confirmed_at = now() WHERE host_id = $1 AND confirmed_at IS NULL',
      [hostId],
    );
  }

  /** Checks a host's id and secret; AGENT_AUTH_FAILED when wrong, unknown or removed. */
  async authenticate(hostId: string, secret: string): Promise<void> {
    const [row] = await this.db.query<HostRow>('SELECT id, state, credential_hash FROM hosts WHERE id = $1', [
      hostId,
    ]);
    // One reason for unknown id and wrong secret: the answer must not reveal which hosts exist.
    if (!row || !secretMatches(secret, row.credential_hash)) {
      throw new StrataError('AGENT_AUTH_FAILED', { hostId, reason: 'unknown host or wrong secret' });
    }
    if (row.state === 'Removed')
      throw new StrataError('AGENT_AUTH_FAILED', { hostId, reason: 'host was removed' });
    await this.confirmRegistration(hostId);
  }

  async updateFacts(hostId: string, facts: HostFacts): Promise<void> {
    await writeFacts(this.db, hostId, facts);
  }

  /**
   * Applies a hostMachine event. Events the current state does not take are skipped (a heartbeat
   * loss seen twice, a Removed host) rather than raised: the channel reports facts, it does not
   * fight the admin's state changes. Returns the state before and after.
   */
  async transition(
    hostId: string,
    event: 'Connected' | 'Disconnected',
    options: { readonly ifSilentMs?: number } = {},
  ): Promise<{ from: HostState; to: HostState } | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<HostRow & { silent: boolean }>(
        `SELECT id, state, COALESCE(last_seen_at, created_at) < now() - ($2::text || ' milliseconds')::interval AS silent
           FROM hosts WHERE id = $1 FOR UPDATE`,
        [hostId, String(options.ifSilentMs ?? 0)],
      );
      if (!row || !hostMachine.can(row.state, event)) return undefined;
      // re-checked under the row lock: another server may have just welcomed this host
      if (options.ifSilentMs !== undefined && !row.silent) return undefined;
      const to = hostMachine.next(row.state, event);
      if (options.ifSilentMs !== undefined)
        await tx.query('UPDATE hosts SET state = $2 WHERE id = $1', [hostId, to]);
      else await tx.query('UPDATE hosts SET state = $2, last_seen_at = now() WHERE id = $1', [hostId, to]);
      if (to !== row.state)
        await recordEvent(tx, hostId, `HOST.${to.toUpperCase()}`, `host ${row.state} → ${to} (${event})`);
      return { from: row.state, to };
    });
  }

  async state(hostId: string): Promise<HostState | undefined> {
    const [row] = await this.db.query<HostRow>('SELECT state FROM hosts WHERE id = $1', [hostId]);
    return row?.state;
  }

  /** Hosts Up (or Connecting) whose agent no server has heard from for `silentMs`. */
  async silentHosts(silentMs: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `SELECT id FROM hosts WHERE state IN ('Up', 'Connecting')
         AND COALESCE(last_seen_at, created_at) < now() - ($1::text || ' milliseconds')::interval`,
      [String(silentMs)],
    );
    return rows.map((r) => r.id);
  }

  async touch(hostId: string): Promise<void> {
    await this.db.query('UPDATE hosts SET last_seen_at = now() WHERE id = $1', [hostId]);
  }

  /** Stores the new report and answers the one it replaces (null the first time). */
  async swapReport(hostId: string, report: AgentStateReport): Promise<AgentStateReport | null> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<HostRow>('SELECT agent_report FROM hosts WHERE id = $1 FOR UPDATE', [
        hostId,
      ]);
      await tx.query('UPDATE hosts SET agent_report = $2::text::jsonb WHERE id = $1', [
        hostId,
        JSON.stringify(report),
      ]);
      return row?.agent_report ?? null;
    });
  }

  async recordEvent(hostId: string, type: string, description: string): Promise<void> {
    await recordEvent(this.db, hostId, type, description);
  }
}

async function writeFacts(q: Queryable, hostId: string, facts: HostFacts): Promise<void> {
  await q.query(
    `UPDATE hosts SET address = $2, iscsi_initiator = $3, cpus = $4, memory_bytes = $5, libvirt_version = $6,
       qemu_version = $7, adaptors = $8::text::jsonb, facts = $9::text::jsonb WHERE id = $1`,
    [
      hostId,
      facts.address,
      facts.iscsiInitiator,
      facts.cpus,
      facts.memoryBytes,
      facts.libvirtVersion,
      facts.qemuVersion,
      JSON.stringify(facts.adaptors),
      JSON.stringify(facts),
    ],
  );
}

async function recordEvent(q: Queryable, hostId: string, type: string, description: string): Promise<void> {
  await q.query(
    `INSERT INTO events (type, resource_type, resource_id, description) VALUES ($1, 'host', $2, $3)`,
    [type, hostId, description],
  );
}
