import { StrataError } from '../errors/strata-error.js';
import type { StorageDriver } from './driver.js';

/**
 * The drivers this process serves, by instance name. Registration refuses empty and duplicate
 * names (Temporal's rule) so two pools never answer to one name.
 */
export class DriverRegistry {
  readonly #byName = new Map<string, StorageDriver>();

  register(driver: StorageDriver): StorageDriver {
    if (typeof driver.name !== 'string' || driver.name.trim() === '') {
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'driver.name',
        reason: 'must be a non-empty string',
      });
    }
    if (typeof driver.type !== 'string' || driver.type.trim() === '') {
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'driver.type',
        reason: 'must be a non-empty string',
      });
    }
    if (this.#byName.has(driver.name)) {
      throw new StrataError('ALREADY_EXISTS', { kind: 'storage driver', name: driver.name });
    }
    this.#byName.set(driver.name, driver);
    return driver;
  }

  unregister(name: string): boolean {
    return this.#byName.delete(name);
  }

  /** The driver named `name`; STORAGE_DRIVER_NOT_FOUND otherwise. */
  get(name: string): StorageDriver {
    const driver = this.#byName.get(name);
    if (!driver) throw new StrataError('STORAGE_DRIVER_NOT_FOUND', { name });
    return driver;
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** Every registered driver of one implementation, in registration order. */
  byType(type: string): readonly StorageDriver[] {
    return [...this.#byName.values()].filter((d) => d.type === type);
  }

  list(): readonly StorageDriver[] {
    return [...this.#byName.values()];
  }
}
