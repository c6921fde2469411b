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
    // Filtered volume lists walk an index in page order instead of sorting every match.
    `CREATE INDEX volumes_pool_created ON volumes (pool_id, created_at, id)`,
    `CREATE INDEX volumes_account_state_created ON volumes (account_id, state, created_at, id)`,
    // What live (not Destroyed) volumes hold in each pool. A trigger keeps the counters whoever
    // writes the volumes (services, jobs, repair tools), so admission reads one locked row
    // instead of summing a pool's volumes on every create.
    `ALTER TABLE storage_pools ADD COLUMN used_bytes BIGINT NOT NULL DEFAULT 0,
      ADD COLUMN used_min_iops BIGINT NOT NULL DEFAULT 0, ADD COLUMN volume_count BIGINT NOT NULL DEFAULT 0`,
    // Statement-level with transition tables: one UPDATE of a pool row per statement, however
    // many volumes it touched (a row-level trigger makes a bulk insert quadratic: every row would
    // add a version of the same pool row).
    `CREATE FUNCTION strata_pool_usage() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        UPDATE storage_pools p SET used_bytes = p.used_bytes + d.bytes, used_min_iops = p.used_min_iops + d.iops, volume_count = p.volume_count + d.n
        FROM (SELECT pool_id, sum(size_bytes) AS bytes, coalesce(sum(min_iops), 0) AS iops, count(*) AS n
              FROM new_rows WHERE state <> 'Destroyed' GROUP BY pool_id) d WHERE p.id = d.pool_id;
      ELSIF TG_OP = 'DELETE' THEN
        UPDATE storage_pools p SET used_bytes = p.used_bytes - d.bytes, used_min_iops = p.used_min_iops - d.iops, volume_count = p.volume_count - d.n
        FROM (SELECT pool_id, sum(size_bytes) AS bytes, coalesce(sum(min_iops), 0) AS iops, count(*) AS n
              FROM old_rows WHERE state <> 'Destroyed' GROUP BY pool_id) d WHERE p.id = d.pool_id;
      ELSE
        UPDATE storage_pools p SET used_bytes = p.used_bytes + d.bytes, used_min_iops = p.used_min_iops + d.iops, volume_count = p.volume_count + d.n
        FROM (SELECT pool_id, sum(b) AS bytes, sum(i) AS iops, sum(n) AS n FROM (
                SELECT pool_id, size_bytes AS b, coalesce(min_iops, 0) AS i, 1 AS n FROM new_rows WHERE state <> 'Destroyed'
                UNION ALL
                SELECT pool_id, -size_bytes, -coalesce(min_iops, 0), -1 FROM old_rows WHERE state <> 'Destroyed') x
              GROUP BY pool_id) d
        WHERE p.id = d.pool_id AND (d.bytes <> 0 OR d.iops <> 0 OR d.n <> 0);
      END IF;
      RETURN NULL;
    END $$`,
    `CREATE TRIGGER volumes_pool_usage_insert AFTER INSERT ON volumes REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION strata_pool_usage()`,
    `CREATE TRIGGER volumes_pool_usage_update AFTER UPDATE ON volumes REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION strata_pool_usage()`,
    `CREATE TRIGGER volumes_pool_usage_delete AFTER DELETE ON volumes REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION strata_pool_usage()`,
    `UPDATE storage_pools p SET used_bytes = u.bytes, used_min_iops = u.iops, volume_count = u.n
      FROM (SELECT pool_id, sum(size_bytes) AS bytes, coalesce(sum(min_iops), 0) AS iops, count(*) AS n
            FROM volumes WHERE state <> 'Destroyed' GROUP BY pool_id) u WHERE u.pool_id = p.id`,
  ],
};
