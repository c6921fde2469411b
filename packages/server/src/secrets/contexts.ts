/**
 * Where each stored secret lives, as the context its sealed form is bound to: a value copied from
 * one row or field into another does not open there (AES-GCM authenticates the context).
 */
export const apiKeySecretContext = (apiKey: string): string => `api_keys/${apiKey}/secret`;

export const poolUrlContext = (poolId: string): string => `storage_pools/${poolId}/url`;

export const poolDetailContext = (poolId: string, name: string): string =>
  `storage_pools/${poolId}/details/${name}`;
