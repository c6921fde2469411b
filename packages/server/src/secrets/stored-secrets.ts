import type { Queryable } from '../db/index.js';
import { apiKeySecretContext } from './contexts.js';
import { openPoolSecrets, poolSecretValues, sealPoolSecrets, type PoolSecretFields } from './pool-secrets.js';
import type { SecretBox } from './secret-box.js';
import { sealedKeyId } from './sealed-value.js';

/** How many rows a pass sealed again. */
export interface Resealed {
  readonly apiKeys: number;
  readonly pools: number;
}

/** Which keys the stored secrets are sealed with, and how many are still plain. */
export interface KeyUsage {
  readonly sealedWith: ReadonlyMap<string, number>;
  readonly plain: number;
}

const poolFields = (r: Record<string, unknown>): PoolSecretFields => ({
  url: String(r['url']),
  details: (r['details'] as Record<string, string> | null) ?? {},
});

/**
 * Seals again, with the current key, every stored secret that is not sealed with it: plain values
 * of an old database and values a rotation's previous key sealed. The caller holds the sealing
 * lock exclusively (so nothing is sealed with another key meanwhile). Revoked API keys and removed
 * pools are included: a dump must not show their secrets either.
 */
export async function resealStored(tx: Queryable, box: SecretBox): Promise<Resealed> {
  const seal = box.sealerWith(box.keyring.current);
  const keys = await tx.query<{ api_key: string; secret: string }>(
    'SELECT api_key, secret FROM api_keys WHERE NOT starts_with(secret, $1)',
    [`enc:v1:${box.keyring.current.id}:`],
  );
  for (const k of keys) {
    const context = apiKeySecretContext(k.api_key);
    await tx.query('UPDATE api_keys SET secret = $2 WHERE api_key = $1', [
      k.api_key,
      seal(await box.open(k.secret, context), context),
    ]);
  }
  let pools = 0;
  for (const row of await tx.query('SELECT id, url, details FROM storage_pools')) {
    const id = String(row['id']);
    const stored = poolFields(row);
    if (poolSecretValues(id, stored).every((v) => box.isCurrent(v.value))) continue;
    const sealed = sealPoolSecrets(id, await openPoolSecrets(box, id, stored), seal);
    await tx.query('UPDATE storage_pools SET url = $2, details = $3 WHERE id = $1', [
      id,
      sealed.url,
      JSON.stringify(sealed.details),
    ]);
    pools++;
  }
  return { apiKeys: keys.length, pools };
}

/** Counts the stored secrets by the key that sealed them. */
export async function keyUsage(q: Queryable): Promise<KeyUsage> {
  const sealedWith = new Map<string, number>();
  let plain = 0;
  const count = (value: string, n = 1) => {
    const id = sealedKeyId(value);
    if (id === null) plain += n;
    else sealedWith.set(id, (sealedWith.get(id) ?? 0) + n);
  };
  // One row per key id (or plain), not one per API key: there may be many keys.
  const keys = await q.query<{ sample: string; n: number | string }>(
    `SELECT min(secret) AS sample, count(*) AS n FROM api_keys
      GROUP BY CASE WHEN starts_with(secret, 'enc:v1:') THEN split_part(secret, ':', 3) END`,
  );
  for (const r of keys) count(r.sample, Number(r.n));
  for (const row of await q.query('SELECT id, url, details FROM storage_pools'))
    for (const v of poolSecretValues(String(row['id']), poolFields(row))) count(v.value);
  return { sealedWith, plain };
}
