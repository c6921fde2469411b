import type { Migration } from './migration.js';

/** The domain: tenancy, infrastructure, offerings, VMs, volumes and snapshots. */
export const domainSchema: Migration = {
  version: 1,
  name: 'domain',
  statements: [
    `CREATE TABLE accounts (
      id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL CHECK (role IN ('admin','user')),
      created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    `CREATE TABLE users (
      id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), username TEXT NOT NULL UNIQUE,
      password_hash TEXT, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    `CREATE TABLE api_keys (
      api_key TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), secret TEXT NOT NULL,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(), revoked_at TIMESTAMPTZ)`,
    `CREATE TABLE zones (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    `CREATE TABLE clusters (
      id TEXT PRIMARY KEY, zone_id TEXT NOT NULL REFERENCES zones(id), name TEXT NOT NULL,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(), UNIQUE (zone_id, name))`,
    `CREATE TABLE hosts (
      id TEXT PRIMARY KEY, cluster_id TEXT NOT NULL REFERENCES clusters(id), name TEXT NOT NULL UNIQUE,
      state TEXT NOT NULL, address TEXT NOT NULL DEFAULT '', iscsi_initiator TEXT, cpus INTEGER NOT NULL DEFAULT 0,
      memory_bytes BIGINT NOT NULL DEFAULT 0, libvirt_version TEXT NOT NULL DEFAULT '', qemu_version TEXT NOT NULL DEFAULT '',
      adaptors JSONB NOT NULL DEFAULT '[]', credential_hash TEXT, last_seen_at TIMESTAMPTZ,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    `CREATE TABLE storage_pools (
      id TEXT PRIMARY KEY, zone_id TEXT NOT NULL REFERENCES zones(id), cluster_id TEXT REFERENCES clusters(id),
      name TEXT NOT NULL UNIQUE, provider TEXT NOT NULL, scope TEXT NOT NULL CHECK (scope IN ('host','cluster','zone')),
      managed BOOLEAN NOT NULL, state TEXT NOT NULL, capacity_bytes BIGINT NOT NULL, capacity_iops BIGINT NOT NULL,
      url TEXT NOT NULL, details JSONB NOT NULL DEFAULT '{}', created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    `CREATE TABLE disk_offerings (
      id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, size_bytes BIGINT, custom_size BOOLEAN NOT NULL DEFAULT false,
      min_iops INTEGER, max_iops INTEGER, burst_iops INTEGER, burst_seconds INTEGER,
      custom_iops BOOLEAN NOT NULL DEFAULT false, hypervisor_snapshot_reserve INTEGER NOT NULL DEFAULT 0,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    `CREATE TABLE templates (
      id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, path TEXT NOT NULL, format TEXT NOT NULL,
      size_bytes BIGINT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    `CREATE TABLE vms (
      id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), name TEXT NOT NULL, state TEXT NOT NULL,
      host_id TEXT REFERENCES hosts(id), template_id TEXT REFERENCES templates(id), cpus INTEGER NOT NULL,
      memory_bytes BIGINT NOT NULL, current_vm_snapshot_id TEXT, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    `CREATE UNIQUE INDEX vms_live_name ON vms (account_id, name) WHERE state <> 'Destroyed'`,
    `CREATE TABLE volumes (
      id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), name TEXT NOT NULL,
      type TEXT NOT NULL CHECK (type IN ('ROOT','DATA')), state TEXT NOT NULL, pool_id TEXT NOT NULL REFERENCES storage_pools(id),
      vm_id TEXT REFERENCES vms(id), device_name TEXT, size_bytes BIGINT NOT NULL,
      min_iops INTEGER, max_iops INTEGER, burst_iops INTEGER, burst_seconds INTEGER,
      offering_id TEXT REFERENCES disk_offerings(id), backend_ref TEXT, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    `CREATE INDEX volumes_account_created ON volumes (account_id, created_at, id)`,
    `CREATE INDEX volumes_created ON volumes (created_at, id)`,
    `CREATE INDEX volumes_vm ON volumes (vm_id)`,
    `CREATE INDEX volumes_pool ON volumes (pool_id)`,
    `CREATE TABLE vm_snapshots (
      id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), vm_id TEXT NOT NULL REFERENCES vms(id),
      name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '', state TEXT NOT NULL,
      type TEXT NOT NULL CHECK (type IN ('Disk','DiskAndMemory')), parent_id TEXT REFERENCES vm_snapshots(id),
      strategy TEXT, quiesce TEXT, consistency TEXT, freeze_ms DOUBLE PRECISION, cut_spread_ms DOUBLE PRECISION,
      memory_path TEXT, details JSONB NOT NULL DEFAULT '{}', created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    `CREATE UNIQUE INDEX vm_snapshots_live_name ON vm_snapshots (vm_id, name) WHERE state NOT IN ('Removed','Error')`,
    `CREATE TABLE volume_snapshots (
      id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), volume_id TEXT NOT NULL REFERENCES volumes(id),
      name TEXT NOT NULL, state TEXT NOT NULL, backend_ref TEXT, vm_snapshot_id TEXT REFERENCES vm_snapshots(id),
      size_bytes BIGINT NOT NULL DEFAULT 0, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    `CREATE INDEX volume_snapshots_volume ON volume_snapshots (volume_id)`,
    `CREATE INDEX volume_snapshots_vm_snapshot ON volume_snapshots (vm_snapshot_id)`,
    `CREATE TABLE events (
      id BIGSERIAL PRIMARY KEY, account_id TEXT, type TEXT NOT NULL, resource_type TEXT NOT NULL,
      resource_id TEXT NOT NULL, job_id TEXT, description TEXT NOT NULL DEFAULT '', created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    `CREATE INDEX events_resource ON events (resource_type, resource_id)`,
  ],
};
