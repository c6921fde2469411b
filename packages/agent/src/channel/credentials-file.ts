import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StrataError } from '@strata/core';

/** What an agent keeps after registering: enough to authenticate on every later connection. */
export interface AgentCredentials {
  readonly hostId: string;
  readonly secret: string;
}

/** Reads the credentials file; undefined when the host has not registered yet. */
export async function loadCredentials(path: string): Promise<AgentCredentials | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const value = JSON.parse(text) as Partial<AgentCredentials>;
  if (typeof value.hostId !== 'string' || typeof value.secret !== 'string') {
    throw new StrataError('INVALID_ARGUMENT', {
      field: path,
      reason: 'credentials file lacks hostId or secret',
    });
  }
  return { hostId: value.hostId, secret: value.secret };
}

/** Writes the credentials readable by the owner only, atomically (a crash leaves old or new, never half). */
export async function saveCredentials(path: string, credentials: AgentCredentials): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}
