import type { Database } from '../db/index.js';
import { requireAdmin, type Actor } from '../services/actor.js';
import type { EventService } from '../services/events.js';
import { rotateSecretsKey, type RotationResult } from './rotation.js';
import type { SecretBox } from './secret-box.js';

/** The operator's handle on secrets at rest: key rotation (docs/security.md). */
export class SecretsService {
  constructor(
    private readonly db: Database,
    readonly box: SecretBox,
    private readonly events: EventService,
  ) {}

  async rotate(actor: Actor): Promise<RotationResult> {
    requireAdmin(actor, 'Rotating the secrets key');
    const result = await rotateSecretsKey(this.db, this.box);
    await this.events.record({
      accountId: null,
      type: 'secrets-key.Rotated',
      resourceType: 'secrets-key',
      resourceId: result.keyId,
      description: `replaced key ${result.previousKeyId}; sealed again: API keys ${result.resealed.apiKeys}, pools ${result.resealed.pools}`,
    });
    return result;
  }
}
