// The host's side of the I/O measure: the data disk's live chain read by QEMU's own block layer
// (`qemu-img bench`, O_DIRECT, shared with the running guest), without the TCG guest in the way.
// In the guest, emulation caps reads far below what the host serves, and hides what depth costs.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REGION_CLUSTERS, REGION_MIB } from './guest.mjs';

const run = promisify(execFile);

const REGION_OFFSET = REGION_MIB * 2 ** 20;
const REGION_BYTES = REGION_CLUSTERS * 64 * 1024;
const REQUEST = 2 ** 20;
const RUNS = 9;

/**
 * MiB/s of the I/O region read in 1 MiB requests, one at a time, through `activePath`'s chain:
 * nine reads of the whole region, over their summed time (qemu-img prints milliseconds, and one
 * read takes tens of them). A request whose clusters sit in different layers is split into one
 * read per piece, so depth shows here.
 */
export async function hostReadMibPerS(activePath) {
  let seconds = 0;
  for (let i = 0; i < RUNS; i++) {
    const { stdout } = await run(
      'qemu-img',
      [
        'bench',
        '-U',
        '-t',
        'none',
        '-f',
        'qcow2',
        '-d',
        '1',
        '-c',
        String(REGION_BYTES / REQUEST),
        '-s',
        String(REQUEST),
        '-S',
        String(REQUEST),
        '-o',
        String(REGION_OFFSET),
        activePath,
      ],
      { timeout: 120_000 },
    );
    const took = Number(/Run completed in ([\d.]+) seconds/.exec(stdout)?.[1]);
    if (!(took > 0)) throw new Error(`qemu-img bench printed no time: ${stdout}`);
    seconds += took;
  }
  return (RUNS * REGION_BYTES) / 2 ** 20 / seconds;
}
