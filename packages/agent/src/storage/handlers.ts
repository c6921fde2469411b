import type { CommandHandlers } from '../channel/dispatcher.js';
import type { StorageNode } from './storage-node.js';

/** The commands of the storage role. */
export function storageHandlers(node: StorageNode): CommandHandlers {
  return {
    'storage.call': (params, ctx) => node.call(params, ctx.signal, ctx.requestId),
  };
}
