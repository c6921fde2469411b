import { StrataError, type MigrationFacts } from '@strata/core';

export const MIGRATION_URI_ENV = 'STRATA_AGENT_MIGRATION_URI';
export const MIGRATION_DATA_ENV = 'STRATA_AGENT_MIGRATION_DATA_URI';

/**
 * How other hosts reach this one for live migration: its libvirt URI
 * (STRATA_AGENT_MIGRATION_URI, e.g. `qemu+tls://host-b.example/system`) and, optionally, where
 * QEMU sends a guest's memory (STRATA_AGENT_MIGRATION_DATA_URI, `tcp://address`). Unset: this host
 * takes no migrations (placement does not offer it as a destination).
 */
export function migrationFacts(env: NodeJS.ProcessEnv = process.env): MigrationFacts | undefined {
  const uri = env[MIGRATION_URI_ENV];
  const dataUri = env[MIGRATION_DATA_ENV];
  if (!uri) {
    if (dataUri)
      throw new StrataError('INVALID_ARGUMENT', {
        field: MIGRATION_DATA_ENV,
        reason: `needs ${MIGRATION_URI_ENV}`,
      });
    return undefined;
  }
  if (!/^qemu(\+[a-z]+)?:\/\/[^\s]*\/system(\?[^\s]*)?$/.test(uri))
    throw new StrataError('INVALID_ARGUMENT', {
      field: MIGRATION_URI_ENV,
      reason: 'a libvirt URI of the system instance (qemu+tls://host/system, qemu+unix:///system?socket=…)',
    });
  if (dataUri !== undefined && !/^tcp:\/\/[^\s/]+$/.test(dataUri))
    throw new StrataError('INVALID_ARGUMENT', { field: MIGRATION_DATA_ENV, reason: 'tcp://address[:port]' });
  return { uri, ...(dataUri !== undefined && { dataUri }) };
}
