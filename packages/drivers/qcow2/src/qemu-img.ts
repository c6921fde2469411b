import { StrataError, validateHostPath, type StorageContext } from '@strata/core';
import { exec } from './exec.js';

export interface ImageInfo {
  readonly virtualSize: number;
  readonly snapshots: readonly string[];
}

/** qemu-img with argument arrays; JSON output where it has one. */
export class QemuImg {
  constructor(private readonly bin = 'qemu-img') {}

  async #run(ctx: StorageContext, args: readonly string[], op: string): Promise<string> {
    try {
      return await exec(ctx, this.bin, args, op);
    } catch (e) {
      // A guest holding the image open: the caller must go through the hypervisor instead.
      if (e instanceof StrataError && /lock/i.test(String(e.params['reason']))) {
        throw new StrataError(
          'STORAGE_IN_USE',
          // the image is the path among the arguments (a resize ends with the size)
          {
            kind: 'volume',
            id: args.find((a) => a.startsWith('/')) ?? '',
            reason: 'a running guest holds the image',
          },
          { cause: e },
        );
      }
      throw e;
    }
  }

  async info(ctx: StorageContext, path: string): Promise<ImageInfo> {
    const json = JSON.parse(await this.#run(ctx, ['info', '--output=json', '-f', 'qcow2', path], 'info')) as {
      'virtual-size': number;
      snapshots?: { name: string }[];
    };
    return { virtualSize: json['virtual-size'], snapshots: (json.snapshots ?? []).map((s) => s.name) };
  }

  /**
   * Bytes a standalone qcow2 copy of internal snapshot `name` needs (its allocated clusters plus
   * metadata). Opened read-only with force-share: a running guest may hold the image.
   */
  async measureSnapshot(ctx: StorageContext, path: string, name: string): Promise<number> {
    const opts = `driver=qcow2,read-only=on,force-share=on,file.driver=file,file.filename=${path.replace(/,/g, ',,')}`;
    const out = await this.#run(
      ctx,
      ['measure', '--output=json', '-O', 'qcow2', '-l', `snapshot.name=${name}`, '--image-opts', opts],
      'measure',
    );
    return (JSON.parse(out) as { required: number }).required;
  }

  create(ctx: StorageContext, path: string, sizeBytes: number): Promise<string> {
    return this.#run(
      ctx,
      ['create', '-q', '-f', 'qcow2', '-o', 'preallocation=off', path, String(sizeBytes)],
      'create',
    );
  }

  resize(ctx: StorageContext, path: string, sizeBytes: number): Promise<string> {
    return this.#run(ctx, ['resize', '-q', '-f', 'qcow2', path, String(sizeBytes)], 'resize');
  }

  snapshot(ctx: StorageContext, op: '-c' | '-a' | '-d', name: string, path: string): Promise<string> {
    // `snapshot` has no -f: --image-opts names the format, so nothing is probed.
    const opts = `driver=qcow2,file.driver=file,file.filename=${path.replace(/,/g, ',,')}`;
    return this.#run(ctx, ['snapshot', '-q', op, name, '--image-opts', opts], `snapshot ${op}`);
  }

  /** Full, independent copy; `snapshot` copies that internal snapshot's content. */
  async convert(
    ctx: StorageContext,
    src: string,
    srcFormat: string,
    dst: string,
    snapshot?: string,
  ): Promise<string> {
    // no `--` in qemu-img: absolute paths are what keeps a file name from being read as an option
    validateHostPath('src', src);
    validateHostPath('dst', dst);
    const args = ['convert', '-q', '-f', srcFormat, '-O', 'qcow2'];
    if (snapshot) args.push('-l', `snapshot.name=${snapshot}`);
    return this.#run(ctx, [...args, src, dst], 'convert');
  }
}
