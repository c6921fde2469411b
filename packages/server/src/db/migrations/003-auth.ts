import type { Migration } from './migration.js';

/**
 * The API's tables: sessions of the web console, the signatures already seen (replay protection),
 * indexes for the lists, and per-pool usage counters kept by a trigger (admission in O(1)).
 */
export const authSchema: Migration = {
  version: 3,
  name: 'api-auth',
  statements: [
    // Only a hash of the token is kept: a stolen database does not yield live sessions.
    `CREATE TABLE sessions (
      token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(), expires_at TIMESTAMPTZ NOT NULL)`,
    `CREATE INDEX sessions_expires ON sessions (expires_at)`,
    // A signature is refused a second time until it expires; then it is refused as expired anyway.
    `CREATE TABLE seen_signatures (
      signature TEXT PRIMARY KEY, expires_at TIMESTAMPTZ NOT NULL)`,
    `CREATE INDEX seen_signatures_expires ON seen_signatures (expires_at)`,
    `CREATE INDEX users_account ON users (account_id)`,
    `CREATE INDEX api_keys_user ON api_keys (user_id)`,
    `CREATE INDEX vms_account_created ON vms (account_id, created_at, id)`,
    `CREATE INDEX vm_snapshots_vm ON vm_snapshots (vm_id, created_at, id)`,
    `CREATE INDEX events_created ON events (created_at, id)`,
    // What live (not Destroyed) volumes hold in each pool. A trigger keeps the counters whoever
    // writes the volumes (services, jobs, repair tools), so admission reads one locked row
    // instead of summing a pool's volumes on every create.
    `ALTER TABLE storage_pools ADD COLUMN used_bytes BIGINT NOT NULL DEFAULT 0,
      ADD COLUMN used_min_iops BIGINT NOT NULL DEFAULT 0, ADD COLUMN volume_count BIGINT NOT NULL DEFAULT 0`,
    `CREATE FUNCTION strata_pool_usage() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND (OLD.state = 'Destroyed') = (NEW.state = 'Destroyed') AND OLD.size_bytes = NEW.size_bytes
         AND OLD.min_iops IS NOT DISTINCT FROM NEW.min_iops AND OLD.pool_id = NEW.pool_id THEN
        RETURN NULL;
      END IF;
      IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state <> 'Destroyed' THEN
        UPDATE storage_pools SET used_bytes = used_bytes - OLD.size_bytes,
          used_min_iops = used_min_iops - coalesce(OLD.min_iops, 0), volume_count = volume_count - 1 WHERE id = OLD.pool_id;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.state <> 'Destroyed' THEN
        UPDATE storage_pools SET used_bytes = used_bytes + NEW.size_bytes,
          used_min_iops = used_min_iops + coalesce(NEW.min_iops, 0), volume_count = volume_count + 1 WHERE id = NEW.pool_id;
      END IF;
      RETURN NULL;
    END $$`,
    `CREATE TRIGGER volumes_pool_usage AFTER INSERT OR DELETE OR UPDATE OF state, size_bytes, min_iops, pool_id
      ON volumes FOR EACH ROW EXECUTE FUNCTION strata_pool_usage()`,
    `UPDATE storage_pools p SET used_bytes = u.bytes, used_min_iops = u.iops, volume_count = u.n
      FROM (SELECT pool_id, sum(size_bytes) AS bytes, coalesce(sum(min_iops), 0) AS iops, count(*) AS n
            FROM volumes WHERE state <> 'Destroyed' GROUP BY pool_id) u WHERE u.pool_id = p.id`,
  ],
};
