import type { Migration } from './migration.js';

/**
 * Service offerings (CloudStack's compute offerings: vCPUs and memory), the offering each VM was
 * deployed with, and a display text for disk offerings (CloudStack's displaytext, which its tools
 * compare and update), why placement chose a volume's pool when the caller named none, and
 * resource tags (key and value on VMs, volumes and their snapshots).
 */
export const serviceOfferingsSchema: Migration = {
  version: 12,
  name: 'service-offerings',
  statements: [
    `ALTER TABLE disk_offerings ADD COLUMN display_text TEXT`,
    `CREATE TABLE service_offerings (
      id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, display_text TEXT,
      cpus INTEGER NOT NULL CHECK (cpus > 0), memory_bytes BIGINT NOT NULL CHECK (memory_bytes > 0),
      created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    `CREATE TABLE vm_service_offerings (
      vm_id TEXT PRIMARY KEY REFERENCES vms(id) ON DELETE CASCADE,
      offering_id TEXT NOT NULL REFERENCES service_offerings(id))`,
    `CREATE TABLE volume_placements (
      volume_id TEXT PRIMARY KEY REFERENCES volumes(id) ON DELETE CASCADE,
      pool_id TEXT NOT NULL, reason TEXT NOT NULL)`,
    `CREATE TABLE resource_tags (
      resource_type TEXT NOT NULL CHECK (resource_type IN ('vm','volume','volume-snapshot','vm-snapshot')),
      resource_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
      account_id TEXT NOT NULL REFERENCES accounts(id), created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (resource_type, resource_id, key))`,
    `CREATE INDEX resource_tags_key ON resource_tags (resource_type, key, value)`,
  ],
};
