import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { StrataError } from '@strata/core';
import type { OverlayFiles } from '../vmsnapshots/cut.js';

const run = promisify(execFile);

/**
 * qcow2 layers made where the pool is mounted (the server, for a stopped VM): an overlay over a
 * backing file, and removal of a layer nothing uses any more.
 */
export const qemuImgOverlays: OverlayFiles & { remove(path: string): Promise<void> } = {
  async createOverlay(overlayPath, backingPath, signal) {
    try {
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', backingPath, overlayPath], {
        signal,
        timeout: 60_000,
      });
    } catch (e) {
      throw new StrataError(
        'INTERNAL',
        { reason: `qemu-img create overlay ${overlayPath}: ${(e as Error).message}` },
        { cause: e },
      );
    }
  },
  async remove(path) {
    await rm(path, { force: true });
  },
};
