import type { Migration } from './migration.js';

/**
 * A moved volume's source kept on its former pool because snapshots there still need it: not a
 * volume (never listed as one, never an orphan), but its bytes and minimum IOPS count on that
 * pool until the last such snapshot is deleted and the source with it. A snapshot whose data
 * stayed on a pool the volume left names that pool (`pool_id`); NULL means the volume's own pool.
 */
export const movedSourcesSchema: Migration = {
  version: 20,
  name: 'moved-sources',
  statements: [
    `CREATE TABLE volume_moved_sources (
      volume_id TEXT NOT NULL REFERENCES volumes(id), pool_id TEXT NOT NULL REFERENCES storage_pools(id),
      backend_ref TEXT, size_bytes BIGINT NOT NULL, min_iops INTEGER NOT NULL DEFAULT 0, job_id TEXT,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (volume_id, pool_id))`,
    `CREATE INDEX volume_moved_sources_pool ON volume_moved_sources (pool_id)`,
    `ALTER TABLE volume_snapshots ADD COLUMN pool_id TEXT REFERENCES storage_pools(id)`,
    // The pool's counters, kept by a trigger like the volumes' (whoever writes the rows).
    `CREATE FUNCTION strata_moved_source_usage() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        UPDATE storage_pools SET used_bytes = used_bytes + NEW.size_bytes, used_min_iops = used_min_iops + NEW.min_iops
          WHERE id = NEW.pool_id;
        RETURN NEW;
      END IF;
      UPDATE storage_pools SET used_bytes = used_bytes - OLD.size_bytes, used_min_iops = used_min_iops - OLD.min_iops
        WHERE id = OLD.pool_id;
      RETURN OLD;
    END $$`,
    `CREATE TRIGGER volume_moved_sources_usage AFTER INSERT OR DELETE ON volume_moved_sources
      FOR EACH ROW EXECUTE FUNCTION strata_moved_source_usage()`,
  ],
};
