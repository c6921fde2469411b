import { Keyring } from './keyring.js';
import { SecretBox } from './secret-box.js';

export { SecretBox, SEALING_LOCK, type Sealer } from './secret-box.js';
export { Keyring } from './keyring.js';
export { SecretsService } from './secrets-service.js';
export { sealStoredSecrets, rotateSecretsKey, type RotationResult, type SealPassResult } from './rotation.js';
export { keyUsage, type KeyUsage } from './stored-secrets.js';
export { sealPoolSecrets, openPoolSecrets } from './pool-secrets.js';
export { apiKeySecretContext, poolDetailContext, poolUrlContext } from './contexts.js';

/** The secret box of a server: the key file at `path` (created when absent) and its retired keys. */
export async function openSecretBox(path: string): Promise<SecretBox> {
  return new SecretBox(await Keyring.load(path));
}
