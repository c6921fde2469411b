import { isSecretDetail, mapUrlPassword, splitUrlPassword } from '../services/secret-details.js';
import { poolDetailContext, poolUrlContext } from './contexts.js';
import type { SecretBox, Sealer } from './secret-box.js';

/** The fields of a pool that may hold secrets. */
export interface PoolSecretFields {
  readonly url: string;
  readonly details: Readonly<Record<string, string>>;
}

/**
 * Seals a pool's secrets for storage: each secret detail's value, and the URL's password in place
 * (the rest of the URL stays readable: the orphan collector and the agent choice read it, and the
 * operator's view masks the password anyway).
 */
export function sealPoolSecrets(poolId: string, plain: PoolSecretFields, seal: Sealer): PoolSecretFields {
  const url = mapUrlPassword(plain.url, (p) => seal(p, poolUrlContext(poolId)));
  const details: Record<string, string> = {};
  for (const [name, value] of Object.entries(plain.details))
    details[name] = isSecretDetail(name) ? seal(value, poolDetailContext(poolId, name)) : value;
  return { url, details };
}

/** A stored pool's secrets in clear, for the driver that needs them (and nothing else). */
export async function openPoolSecrets(
  box: SecretBox,
  poolId: string,
  stored: PoolSecretFields,
): Promise<PoolSecretFields> {
  const password = splitUrlPassword(stored.url)?.password;
  const opened = password === undefined ? '' : await box.open(password, poolUrlContext(poolId));
  const url = mapUrlPassword(stored.url, () => opened);
  const details: Record<string, string> = {};
  for (const [name, value] of Object.entries(stored.details))
    details[name] = isSecretDetail(name) ? await box.open(value, poolDetailContext(poolId, name)) : value;
  return { url, details };
}

/** Every stored secret of a pool, with the context it is sealed for. */
export function poolSecretValues(
  poolId: string,
  stored: PoolSecretFields,
): Array<{ value: string; context: string }> {
  const out: Array<{ value: string; context: string }> = [];
  const password = splitUrlPassword(stored.url)?.password;
  if (password !== undefined) out.push({ value: password, context: poolUrlContext(poolId) });
  for (const [name, value] of Object.entries(stored.details))
    if (isSecretDetail(name)) out.push({ value, context: poolDetailContext(poolId, name) });
  return out;
}
