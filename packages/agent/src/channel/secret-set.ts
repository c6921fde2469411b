import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { escapeXml, StrataError, type CommandParams } from '@strata/core';
import { undefineSecret, withPrivateDir } from '../host/secrets.js';
import type { Virsh } from '../virsh/virsh.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * `secret.set`: a libvirt secret under the uuid the SERVER chose (disks name secrets by uuid, and
 * the server derives it from the usage so every host agrees). A secret of the same usage under
 * another uuid is replaced; the value goes through a 0600 file, never argv. Idempotent.
 * CHAP passwords arrive as text, cephx keys as the base64 `ceph auth get-key` prints.
 */
export async function setSecret(
  virsh: Virsh,
  params: CommandParams<'secret.set'>,
): Promise<{ uuid: string }> {
  const { uuid, usage, type, value } = params;
  if (!UUID.test(uuid))
    throw new StrataError('INVALID_ARGUMENT', { field: 'uuid', reason: 'must be a lower-case UUID' });
  if (usage.trim() === '')
    throw new StrataError('INVALID_ARGUMENT', { field: 'usage', reason: 'must not be empty' });
  for (const line of (await virsh.run(['secret-list'])).split('\n')) {
    const m = /^\s*([0-9a-f-]{36})\s+(\S+)\s+(.*)$/.exec(line);
    if (m?.[1] && m[1] !== uuid && m[2] === type && m[3]?.trim() === usage) await undefineSecret(virsh, m[1]);
  }
  const usageXml =
    type === 'iscsi'
      ? `<usage type='iscsi'><target>${escapeXml(usage)}</target></usage>`
      : `<usage type='ceph'><name>${escapeXml(usage)}</name></usage>`;
  const raw = Buffer.from(value, type === 'ceph' ? 'base64' : 'utf8');
  await withPrivateDir(async (dir) => {
    const xmlPath = join(dir, 'secret.xml');
    await writeFile(
      xmlPath,
      `<secret ephemeral='no' private='yes'><uuid>${uuid}</uuid>${usageXml}</secret>`,
      {
        mode: 0o600,
      },
    );
    await virsh.run(['secret-define', '--file', xmlPath]);
    const valuePath = join(dir, 'value');
    await writeFile(valuePath, raw.toString('base64'), { mode: 0o600 });
    await virsh.run(['secret-set-value', '--secret', uuid, '--file', valuePath]);
  });
  return { uuid };
}

/** `secret.remove`: undefines the secret the server named by uuid; an absent one is fine. Idempotent. */
export async function removeSecret(
  virsh: Virsh,
  params: CommandParams<'secret.remove'>,
): Promise<{ uuid: string }> {
  if (!UUID.test(params.uuid))
    throw new StrataError('INVALID_ARGUMENT', { field: 'uuid', reason: 'must be a lower-case UUID' });
  await undefineSecret(virsh, params.uuid);
  return { uuid: params.uuid };
}
