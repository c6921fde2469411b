import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import {
  encodeMessage,
  fromWireError,
  StrataError,
  toStrataError,
  type AgentCommand,
  type CommandParams,
  type CommandResult,
  type ResponseMessage,
  type ServerToAgent,
} from '@strata/core';

interface Pending {
  readonly command: string;
  resolve(value: unknown): void;
  reject(error: StrataError): void;
  readonly timer: NodeJS.Timeout;
}

/** One authenticated agent connection: its socket, its requests in flight and its liveness. */
export class AgentSession {
  private readonly pending = new Map<string, Pending>();
  lastSeen = Date.now();
  /** Registered on this connection and not yet heard from since its welcome (see confirmRegistration). */
  unconfirmed = false;
  closed = false;

  constructor(
    readonly hostId: string,
    private readonly socket: WebSocket,
    readonly commands: readonly string[],
  ) {}

  post(message: ServerToAgent): void {
    if (this.closed) return;
    this.socket.send(encodeMessage(message));
  }

  request<C extends AgentCommand>(
    command: C,
    params: CommandParams<C>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<CommandResult<C>> {
    if (this.closed) return Promise.reject(this.unavailable('connection closed'));
    if (signal?.aborted) return Promise.reject(toStrataError(signal.reason));
    const id = randomUUID();
    return new Promise<CommandResult<C>>((resolve, reject) => {
      const onAbort = () => this.abandon(id, toStrataError(signal?.reason));
      const timer = setTimeout(() => {
        this.abandon(
          id,
          new StrataError('TIMEOUT', { what: `command ${command} on host ${this.hostId}`, ms: timeoutMs }),
        );
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        command,
        resolve: (v) => (done(), resolve(v as CommandResult<C>)),
        reject: (e) => (done(), reject(e)),
        timer,
      });
      this.post({ kind: 'request', id, command, params, timeoutMs });
    });
  }

  /** The caller stops waiting (timeout or its signal); a late answer is then dropped. */
  private abandon(id: string, error: StrataError): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.reject(error);
  }

  /** An answer from the agent; one that comes after its timeout is dropped (the caller has moved on). */
  settle(message: ResponseMessage): void {
    const p = this.pending.get(message.id);
    if (!p) return;
    this.pending.delete(message.id);
    clearTimeout(p.timer);
    if (message.ok) p.resolve(message.result);
    else p.reject(fromWireError(message.error));
  }

  close(code: number, reason: string): void {
    if (!this.closed) this.socket.close(code, reason);
    this.failAll(reason);
  }

  /** The socket is gone (or must be): every request in flight fails as retryable UNAVAILABLE. */
  failAll(reason: string): void {
    this.closed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(this.unavailable(reason));
      this.pending.delete(id);
    }
  }

  terminate(reason: string): void {
    this.failAll(reason);
    this.socket.terminate();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private unavailable(reason: string): StrataError {
    return new StrataError('UNAVAILABLE', { what: `agent of host ${this.hostId}`, reason });
  }
}
