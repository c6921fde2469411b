import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ConnectionDetails } from '@strata/core';
import { qemuImageArgs, readWriterFsLog, readWriterLog, type WriterRecord } from '@strata/testing';

const run = promisify(execFile);

/** An RBD image read with the cluster's admin keyring (the demo set the cluster up). */
export interface RbdExport {
  readonly adaptor: 'rbd-export';
  readonly spec: string;
  readonly confPath: string;
  readonly keyringPath: string;
}

/**
 * Reads what the guest's writer left on a disk, the way a host sees the disk: the qcow2 chain
 * of a file volume, an iSCSI LUN through QEMU's own client with the host's initiator name, an RBD
 * image through librbd. Only for a stopped VM (nothing writes while it reads).
 */
export async function readDisk(
  conn: ConnectionDetails | RbdExport,
  kind: 'raw-records' | 'root-fs',
): Promise<WriterRecord[]> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-demo-disk-'));
  try {
    const raw = join(dir, 'disk.raw');
    if (conn.adaptor === 'rbd-export') {
      await run(
        'rbd',
        ['--conf', conn.confPath, '--keyring', conn.keyringPath, '--id', 'admin', 'export', conn.spec, raw],
        { timeout: 300_000 },
      );
    } else {
      await run('qemu-img', ['convert', ...(await qemuImageArgs(conn, dir)), '-O', 'raw', raw], {
        timeout: 300_000,
      });
    }
    return kind === 'root-fs'
      ? await readWriterFsLog(raw, 'raw')
      : await readWriterLog(raw, { format: 'raw' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
