import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSecretBox, type SecretBox } from '../index.js';

/**
 * For suites that build services without a server: a secret box with a new key in a temporary
 * directory, removed when the test process exits.
 */
export async function tempSecretBox(): Promise<SecretBox> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-secrets-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return openSecretBox(join(dir, 'secrets.key'));
}
