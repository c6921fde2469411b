import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeXml, StrataError } from '@strata/core';
import type { Virsh } from '../virsh/virsh.js';

export type SecretUsage = 'iscsi' | 'ceph';

/** Runs fn with a private (0700) directory that is removed afterwards: secrets never touch argv. */
export async function withPrivateDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-agent-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function findByUsage(virsh: Virsh, usage: SecretUsage, usageName: string): Promise<string | undefined> {
  const out = await virsh.run(['secret-list']);
  for (const line of out.split('\n')) {
    const m = /^\s*([0-9a-f-]{36})\s+(\S+)\s+(.*)$/.exec(line);
    if (m && m[2] === usage && m[3]?.trim() === usageName) return m[1];
  }
  return undefined;
}

/**
 * Defines (or reuses, by usage name) a private libvirt secret and sets its value from a 0600
 * file: CHAP passwords (usage iscsi) and cephx keys (usage ceph). Returns the secret's uuid.
 * `value` is the raw secret (for cephx: the key's base64 decoded).
 */
export async function defineSecret(
  virsh: Virsh,
  usage: SecretUsage,
  usageName: string,
  value: Buffer,
): Promise<string> {
  if (usageName.trim() === '')
    throw new StrataError('INVALID_ARGUMENT', { field: 'usageName', reason: 'must not be empty' });
  const uuid = (await findByUsage(virsh, usage, usageName)) ?? randomUUID();
  const usageXml =
    usage === 'iscsi'
      ? `<usage type='iscsi'><target>${escapeXml(usageName)}</target></usage>`
      : `<usage type='ceph'><name>${escapeXml(usageName)}</name></usage>`;
  await withPrivateDir(async (dir) => {
    const xmlPath = join(dir, 'secret.xml');
    await writeFile(
      xmlPath,
      `<secret ephemeral='no' private='yes'><uuid>${uuid}</uuid>${usageXml}</secret>`,
      { mode: 0o600 },
    );
    await virsh.run(['secret-define', '--file', xmlPath]);
    const valuePath = join(dir, 'value');
    await writeFile(valuePath, value.toString('base64'), { mode: 0o600 });
    await virsh.run(['secret-set-value', '--secret', uuid, '--file', valuePath]);
  });
  return uuid;
}

/** Removes a secret; absent secrets are fine. */
export async function undefineSecret(virsh: Virsh, uuid: string): Promise<void> {
  try {
    await virsh.run(['secret-undefine', '--secret', uuid]);
  } catch (err) {
    if (!/not found|no secret/i.test(String((err as Error).message))) throw err;
  }
}
