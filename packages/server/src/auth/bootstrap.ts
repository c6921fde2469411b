import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database } from '../db/index.js';
import { apiKeySecretContext, type SecretBox } from '../secrets/index.js';
import { newId } from '../services/ids.js';
import { hashPassword, randomSecret } from './passwords.js';

/** Fixed key of the advisory lock that keeps two servers from bootstrapping twice. */
const BOOTSTRAP_LOCK = 5_170_003;

export const CREDENTIALS_FILE = 'admin-credentials.json';

export interface BootstrapCredentials {
  readonly accountId: string;
  readonly username: string;
  readonly password: string;
  readonly apiKey: string;
  readonly secretKey: string;
}

/**
 * On first start (no admin account yet), creates the `admin` account, its user with a random
 * password, and an API key, and writes them to `<dataDir>/admin-credentials.json` (mode 0600).
 * Returns the credentials when it created them, null when an admin already existed.
 */
export async function bootstrapAdmin(
  db: Database,
  dataDir: string | null,
  secrets: SecretBox,
): Promise<BootstrapCredentials | null> {
  // Every start but the first finds the admin: skip the deliberately slow password hash then.
  if ((await db.query(`SELECT 1 FROM accounts WHERE role = 'admin' LIMIT 1`)).length) return null;
  const password = randomSecret(18);
  const passwordHash = await hashPassword(password);
  const created = await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK]);
    const admins = await tx.query(`SELECT 1 FROM accounts WHERE role = 'admin' LIMIT 1`);
    if (admins.length) return null;
    const creds: BootstrapCredentials = {
      accountId: newId('acct'),
      username: 'admin',
      password,
      apiKey: randomSecret(24),
      secretKey: randomSecret(32),
    };
    const userId = newId('user');
    await tx.query(`INSERT INTO accounts (id, name, role) VALUES ($1, 'admin', 'admin')`, [creds.accountId]);
    await tx.query('INSERT INTO users (id, account_id, username, password_hash) VALUES ($1,$2,$3,$4)', [
      userId,
      creds.accountId,
      creds.username,
      passwordHash,
    ]);
    const seal = await secrets.sealerIn(tx);
    await tx.query('INSERT INTO api_keys (api_key, user_id, secret) VALUES ($1,$2,$3)', [
      creds.apiKey,
      userId,
      seal(creds.secretKey, apiKeySecretContext(creds.apiKey)),
    ]);
    return creds;
  });
  if (created && dataDir) {
    await mkdir(dataDir, { recursive: true });
    const file = join(dataDir, CREDENTIALS_FILE);
    await writeFile(file, JSON.stringify(created, null, 2) + '\n', { mode: 0o600 });
    await chmod(file, 0o600); // the mode above applies only when the file is new
  }
  return created;
}
