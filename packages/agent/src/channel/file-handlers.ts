import { FileOps } from '../files/file-ops.js';
import { fileRoots } from '../files/roots.js';
import { inspectTemplate } from '../files/template-inspect.js';
import type { CommandHandlers } from './dispatcher.js';

/**
 * The file commands, for every agent (they need no libvirt): the host state directory and the
 * pool directories this machine mounts or holds are the only places they touch.
 */
export function fileHandlers(served: readonly string[]): CommandHandlers {
  const files = new FileOps(fileRoots(served));
  return {
    'file.createOverlay': (p, ctx) => files.createOverlay(p, ctx.signal, ctx.timeoutMs),
    'file.remove': (p) => files.remove(p),
    'file.commit': (p, ctx) => files.commit(p, ctx.signal, ctx.timeoutMs),
    'file.rebase': (p, ctx) => files.rebase(p, ctx.signal, ctx.timeoutMs),
    'file.chain': (p, ctx) => files.chain(p, ctx.signal),
    'file.list': (p) => files.list(p),
    // Template files are only read: under the allowed directories the server names, wherever they are.
    'template.inspect': (p, ctx) => inspectTemplate(p, ctx.signal),
  };
}
