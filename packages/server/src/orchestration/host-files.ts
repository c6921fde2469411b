import type { ChainLayer, FileFormat } from '@strata/core';
import type { AgentPort } from './agent-port.js';

/**
 * The files of one host (its state directory, the qcow2 pools it mounts), worked on by that host's
 * agent: the server never opens, runs qemu-img on, or removes a host's file itself. Every call is
 * safe to replay (docs/agent-channel.md, file commands).
 */
export interface HostFiles {
  readonly hostId: string;
  /** A qcow2 overlay over `backing`; an existing one over the same backing is kept. */
  createOverlay(
    path: string,
    backing: string,
    signal?: AbortSignal,
    backingFormat?: FileFormat,
  ): Promise<void>;
  /** Removes a file; an absent one is fine. Answers whether it was there. */
  remove(path: string, signal?: AbortSignal): Promise<boolean>;
  /** `qemu-img commit` of a stopped disk's layer into its backing file. */
  commit(path: string, signal?: AbortSignal, timeoutMs?: number): Promise<void>;
  /** Safe rebase of a stopped disk's layer onto `backing`. */
  rebase(path: string, format: FileFormat, backing: ChainLayer, signal?: AbortSignal): Promise<void>;
  /** The layer's backing chain, itself first; null when the file does not exist. */
  chain(path: string, signal?: AbortSignal): Promise<ChainLayer[] | null>;
  /** The backing file a layer names; null for a base image (throws for a missing file). */
  backingOf(path: string, signal?: AbortSignal): Promise<string | null>;
  /** Names of the regular files in a directory starting with `prefix`; null when it does not exist. */
  list(dir: string, prefix?: string, signal?: AbortSignal): Promise<string[] | null>;
}

const opts = (signal?: AbortSignal, timeoutMs?: number) => ({
  ...(signal && { signal }),
  ...(timeoutMs !== undefined && { timeoutMs }),
});

const asFormat = (f: string): FileFormat => (f === 'raw' ? 'raw' : 'qcow2');

export function hostFiles(agent: AgentPort, hostId: string): HostFiles {
  const chain = async (path: string, signal?: AbortSignal) => {
    const r = await agent.send(hostId, 'file.chain', { path }, opts(signal));
    return r.exists ? [...r.layers] : null;
  };
  return {
    hostId,
    async createOverlay(path, backing, signal, backingFormat = 'qcow2') {
      await agent.send(hostId, 'file.createOverlay', { path, backing, backingFormat }, opts(signal));
    },
    async remove(path, signal) {
      return (await agent.send(hostId, 'file.remove', { path }, opts(signal))).existed;
    },
    async commit(path, signal, timeoutMs) {
      await agent.send(hostId, 'file.commit', { path }, opts(signal, timeoutMs));
    },
    async rebase(path, format, backing, signal) {
      await agent.send(
        hostId,
        'file.rebase',
        { path, format, backing: backing.path, backingFormat: asFormat(backing.format) },
        opts(signal),
      );
    },
    chain,
    async backingOf(path, signal) {
      const layers = await chain(path, signal);
      if (!layers) throw new Error(`${path} does not exist on host ${hostId}`);
      return layers[1]?.path ?? null;
    },
    async list(dir, prefix, signal) {
      const r = await agent.send(hostId, 'file.list', { dir, ...(prefix && { prefix }) }, opts(signal));
      return r.exists ? [...r.names] : null;
    },
  };
}
