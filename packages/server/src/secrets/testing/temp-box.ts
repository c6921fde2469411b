import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSecretBox, type SecretBox } from '../index.js';

/** For suites that build services without a server: a secret box with a new key in a temporary directory. */
export async function tempSecretBox(): Promise<SecretBox> {
  return openSecretBox(join(await mkdtemp(join(tmpdir(), 'strata-secrets-')), 'secrets.key'));
}
