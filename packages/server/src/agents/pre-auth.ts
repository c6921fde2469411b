import type { Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { WebSocket } from 'ws';

/**
 * Limits on agent-channel connections that have not authenticated yet: anyone who can reach the
 * port can open one, so each must cost little and hold nothing for long (docs/security.md).
 */
export interface PreAuthLimits {
  /** Unauthenticated connections at once, over all peers; more are closed as they arrive. Default 64. */
  readonly maxPending: number;
  /** Unauthenticated connections at once from one address. Default 16. */
  readonly maxPendingPerAddress: number;
  /** Largest frame before authentication (the register/hello message). Default 1 MiB. */
  readonly maxFrameBytes: number;
  /** Largest frame after authentication (reports, command results). Default 16 MiB. */
  readonly maxAuthenticatedFrameBytes: number;
  /** A connection that has not authenticated within this is closed. Default 5 s. */
  readonly helloTimeoutMs: number;
}

export const DEFAULT_PRE_AUTH_LIMITS: PreAuthLimits = {
  maxPending: 64,
  maxPendingPerAddress: 16,
  maxFrameBytes: 1024 * 1024,
  maxAuthenticatedFrameBytes: 16 * 1024 * 1024,
  helloTimeoutMs: 5_000,
};

/** Tracks TLS connections from their handshake until their agent authenticates. */
export class PreAuthGuard {
  private readonly pending = new Map<TLSSocket, { timer: NodeJS.Timeout; address: string }>();
  private readonly perAddress = new Map<string, number>();
  /** Connections closed for a limit since start (for logs and tests). */
  refused = 0;
  /** The most unauthenticated connections held at once since start. */
  peak = 0;

  constructor(readonly limits: PreAuthLimits) {}

  /** Watches every TLS connection of the channel's server. */
  attach(server: Server): void {
    server.on('secureConnection', (socket: TLSSocket) => this.admit(socket));
  }

  pendingCount(): number {
    return this.pending.size;
  }

  private admit(socket: TLSSocket): void {
    const address = socket.remoteAddress ?? '?';
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (this.pending.size >= this.limits.maxPending || fromAddress >= this.limits.maxPendingPerAddress) {
      this.refused++;
      socket.destroy();
      return;
    }
    this.perAddress.set(address, fromAddress + 1);
    // Also closes a connection that never upgrades to a WebSocket (the hub's hello timer cannot see it).
    const timer = setTimeout(() => socket.destroy(), this.limits.helloTimeoutMs);
    timer.unref();
    // the address is kept: a destroyed socket no longer knows it
    this.pending.set(socket, { timer, address });
    this.peak = Math.max(this.peak, this.pending.size);
    socket.once('close', () => this.release(socket));
  }

  /** Its first message came: the timer stops (the handshake's database work is ours), it still counts. */
  helloReceived(socket: TLSSocket): void {
    const entry = this.pending.get(socket);
    if (entry !== undefined) clearTimeout(entry.timer);
  }

  /** The socket's agent authenticated: it no longer counts, and may send large frames. */
  authenticated(socket: TLSSocket, ws: WebSocket): void {
    this.release(socket);
    raiseMaxPayload(ws, this.limits.maxAuthenticatedFrameBytes);
  }

  private release(socket: TLSSocket): void {
    const entry = this.pending.get(socket);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    this.pending.delete(socket);
    const { address } = entry;
    const n = (this.perAddress.get(address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, n);
  }
}

/**
 * ws has one maxPayload per server; the limit is per phase here, so the server starts every
 * socket at the small pre-authentication limit and raises it on the socket's receiver once its
 * agent is known. The receiver's field is internal to ws 8: checked, so an upgrade of ws that
 * renames it fails loudly (agents' large frames refused) rather than silently.
 */
function raiseMaxPayload(ws: WebSocket, bytes: number): void {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: number } })._receiver;
  if (!receiver || typeof receiver._maxPayload !== 'number')
    throw new Error('ws internals changed: cannot raise maxPayload after authentication');
  receiver._maxPayload = bytes;
}
