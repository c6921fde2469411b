import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  CHANNEL_PATH,
  CHANNEL_PROTOCOL_VERSION,
  CloseCode,
  decodeMessage,
  defaultCommandTimeoutsMs,
  encodeMessage,
  StrataError,
  toWireError,
  type AgentCommand,
  type AgentStateReport,
  type CommandParams,
  type CommandResult,
  type EventMessage,
  type HelloMessage,
  type RegisterMessage,
} from '@strata/core';
import type { Database } from '../db/index.js';
import { AuditLog } from '../services/audit.js';
import { HostStore, type IssuedToken } from './host-store.js';
import { describeDifference, diffReports, type StateDifference } from './reconcile.js';
import { DEFAULT_PRE_AUTH_LIMITS, PreAuthGuard, type PreAuthLimits } from './pre-auth.js';
import { auditAgentRefusal } from './refusal-audit.js';
import { AgentSession } from './session.js';
import { ensureServerCertificate } from './tls.js';

/** The part of a pino logger the hub uses. */
export interface HubLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AgentHubOptions {
  readonly db: Database;
  /** Where the channel's TLS certificate and key live (made on first start). */
  readonly dataDir: string;
  readonly host?: string;
  /** 0 picks a free port (tests). Default 8843. */
  readonly port?: number;
  /** Agents heartbeat this often; default 5 s. */
  readonly heartbeatMs?: number;
  /** Heartbeats missed before a host is Disconnected; default 3. */
  readonly missedHeartbeats?: number;
  /** One timeout for every command; unset: each command's own (defaultCommandTimeoutsMs). */
  readonly defaultTimeoutMs?: number;
  readonly logger?: HubLogger;
  /** Limits on connections before authentication (pre-auth.ts); defaults for any left out. */
  readonly preAuth?: Partial<PreAuthLimits>;
}

export interface ReconcileContext {
  readonly hostId: string;
  readonly report: AgentStateReport;
  /** The last report stored before this one (null for a host's first). */
  readonly previous: AgentStateReport | null;
  readonly differences: readonly StateDifference[];
  /** True when the report came with a (re)connection rather than mid-session. */
  readonly onConnect: boolean;
}

export type ReconcileHook = (ctx: ReconcileContext) => Promise<void> | void;
export type AgentEventListener = (hostId: string, event: EventMessage) => void;
export type ConnectionListener = (hostId: string, connected: boolean) => void;

const silent: HubLogger = { info: () => undefined, warn: () => undefined };

/**
 * The server's end of the agent channel: a TLS WebSocket endpoint agents connect to, the table of
 * connected agents, commands with ids and timeouts, heartbeats, event fan-out and reconciliation.
 */
export class AgentHub {
  private readonly sessions = new Map<string, AgentSession>();
  private readonly eventListeners = new Set<AgentEventListener>();
  private readonly connectionListeners = new Set<ConnectionListener>();
  private readonly reconcileHooks = new Set<ReconcileHook>();
  private readonly store: HostStore;
  private readonly audit: AuditLog;
  private readonly log: HubLogger;
  private readonly heartbeatMs: number;
  private readonly sweepEveryMs: number;
  private readonly missAfterMs: number;
  private readonly defaultTimeoutMs: number | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private lastSilentSweep = 0;
  private lastSweepAt = 0;

  private constructor(
    options: AgentHubOptions,
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    readonly fingerprint: string,
    readonly preAuth: PreAuthGuard,
  ) {
    this.store = new HostStore(options.db);
    this.audit = new AuditLog(options.db);
    this.log = options.logger ?? silent;
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
    this.missAfterMs = this.heartbeatMs * (options.missedHeartbeats ?? 3);
    this.sweepEveryMs = Math.max(100, Math.floor(this.heartbeatMs / 2));
    this.defaultTimeoutMs = options.defaultTimeoutMs;
  }

  static async start(options: AgentHubOptions): Promise<AgentHub> {
    const tls = await ensureServerCertificate(options.dataDir);
    const limits = { ...DEFAULT_PRE_AUTH_LIMITS, ...options.preAuth };
    // A TCP connection that never finishes its TLS handshake is closed as soon as a silent one would be.
    const server = createServer({
      cert: tls.cert,
      key: tls.key,
      minVersion: 'TLSv1.3',
      handshakeTimeout: limits.helloTimeoutMs,
    });
    const guard = new PreAuthGuard(limits);
    guard.attach(server);
    // Every socket starts at the small pre-authentication limit; the guard raises it after.
    const wss = new WebSocketServer({ server, path: CHANNEL_PATH, maxPayload: limits.maxFrameBytes });
    const hub = new AgentHub(options, server, wss, tls.fingerprint, guard);
    wss.on('connection', (socket, req) => hub.accept(socket, req.socket as TLSSocket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 8843, options.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    hub.sweeper = setInterval(() => hub.sweep(), hub.sweepEveryMs);
    hub.sweeper.unref();
    return hub;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** A one-time token an administrator hands to a new host, with what its agent must pin. */
  async issueRegistrationToken(
    clusterId: string,
    ttlMs = 3_600_000,
  ): Promise<IssuedToken & { fingerprint: string }> {
    return { ...(await this.store.issueToken(clusterId, ttlMs)), fingerprint: this.fingerprint };
  }

  /** A token that re-registers one existing host (a reinstalled machine) under its name. */
  async issueHostRegistrationToken(
    hostId: string,
    ttlMs = 3_600_000,
  ): Promise<IssuedToken & { fingerprint: string }> {
    return { ...(await this.store.issueHostToken(hostId, ttlMs)), fingerprint: this.fingerprint };
  }

  /**
   * Sends one command to a host's agent; TIMEOUT past `timeoutMs`, UNAVAILABLE when not connected
   * or when the connection drops first, the signal's reason when it aborts. Implements AgentPort.
   */
  send<C extends AgentCommand>(
    hostId: string,
    command: C,
    params: CommandParams<C>,
    options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
  ): Promise<CommandResult<C>> {
    const session = this.sessions.get(hostId);
    if (!session) {
      return Promise.reject(
        new StrataError('UNAVAILABLE', { what: `agent of host ${hostId}`, reason: 'not connected' }),
      );
    }
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs ?? defaultCommandTimeoutsMs[command];
    return session.request(command, params, timeoutMs, options.signal);
  }

  isConnected(hostId: string): boolean {
    return this.sessions.has(hostId);
  }

  connectedHosts(): string[] {
    return [...this.sessions.keys()];
  }

  /** For the `strata_connected_agents` gauge. */
  connectedCount(): number {
    return this.sessions.size;
  }

  onEvent(listener: AgentEventListener): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onConnection(listener: ConnectionListener): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  /** VM services register here to bring their rows in line with what an agent really runs. */
  onReconcile(hook: ReconcileHook): () => void {
    this.reconcileHooks.add(hook);
    return () => this.reconcileHooks.delete(hook);
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    // Hosts go Disconnected: their agents reconnect to this server when it is back, or to another.
    for (const session of [...this.sessions.values()]) {
      session.close(CloseCode.ServerStopping, 'server stopping');
      await this.dropped(session, 'server stopping');
    }
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: WebSocket, tlsSocket: TLSSocket): void {
    let session: AgentSession | undefined;
    let handshaking = false;
    // The first frame must come soon: a socket that never authenticates holds nothing for long.
    const handshakeTimer = setTimeout(
      () => socket.close(CloseCode.ProtocolError, 'no hello'),
      this.preAuth.limits.helloTimeoutMs,
    );
    const refuse = (error: unknown, code: number = CloseCode.Refused) => {
      clearTimeout(handshakeTimer);
      socket.send(encodeMessage({ kind: 'refused', error: toWireError(error) }));
      socket.close(code, 'refused');
    };
    socket.on('message', (data: RawData) => {
      let message;
      try {
        message = decodeMessage(rawText(data));
      } catch (e) {
        refuse(e, CloseCode.ProtocolError);
        return;
      }
      if (!session) {
        if (handshaking || (message.kind !== 'register' && message.kind !== 'hello')) {
          refuse(
            new StrataError('INVALID_ARGUMENT', {
              field: 'kind',
              reason: 'the first message must be one register or hello, then wait for welcome',
            }),
          );
          return;
        }
        handshaking = true;
        clearTimeout(handshakeTimer);
        this.preAuth.helloReceived(tlsSocket);
        socket.pause(); // hold later frames until the handshake's database work is done
        this.handshake(socket, message).then(
          (s) => {
            clearTimeout(handshakeTimer);
            this.preAuth.authenticated(tlsSocket, socket);
            session = s;
            // closed while the handshake ran: the 'close' handler saw no session, so drop it here
            if (socket.readyState !== socket.OPEN) void this.dropped(s, 'connection closed');
            else socket.resume();
          },
          (e: unknown) => {
            this.log.warn({ err: toWireError(e) }, 'agent refused');
            void auditAgentRefusal(this.audit, e, message, tlsSocket.remoteAddress).catch((err: unknown) =>
              this.log.warn({ err }, 'could not record the refusal in the audit trail'),
            );
            socket.resume(); // else the peer's close frame is never read and closing stalls
            refuse(e);
          },
        );
        return;
      }
      session.lastSeen = Date.now();
      if (session.unconfirmed) {
        // A registered host's first message after its welcome: it holds its credential.
        session.unconfirmed = false;
        void this.store.confirmRegistration(session.hostId).catch(() => undefined);
      }
      switch (message.kind) {
        case 'heartbeat':
          session.post({ kind: 'heartbeat', at: new Date().toISOString() });
          void this.store.touch(session.hostId).catch(() => undefined);
          return;
        case 'response':
          session.settle(message);
          return;
        case 'event':
          for (const l of this.eventListeners) l(session.hostId, message);
          return;
        case 'report':
          void this.reconcile(session.hostId, message.report, false);
          return;
        default:
          refuse(
            new StrataError('INVALID_ARGUMENT', {
              field: 'kind',
              reason: `${message.kind} not expected now`,
            }),
            CloseCode.ProtocolError,
          );
      }
    });
    socket.on('close', () => {
      clearTimeout(handshakeTimer);
      if (session) void this.dropped(session, 'connection closed');
    });
    socket.on('error', () => undefined); // 'close' follows
  }

  private async handshake(socket: WebSocket, hello: RegisterMessage | HelloMessage): Promise<AgentSession> {
    if (hello.version !== CHANNEL_PROTOCOL_VERSION) {
      throw new StrataError('AGENT_PROTOCOL_MISMATCH', {
        version: hello.version,
        supported: CHANNEL_PROTOCOL_VERSION,
      });
    }
    let hostId: string;
    let credentials: { hostId: string; secret: string } | undefined;
    if (hello.kind === 'register') {
      credentials = await this.store.register(hello.token, hello.facts);
      hostId = credentials.hostId;
    } else {
      await this.store.authenticate(hello.hostId, hello.secret);
      hostId = hello.hostId;
      await this.store.updateFacts(hostId, hello.facts);
    }
    // The last await: past it nothing can fail, so a session is never left behind half-made.
    await this.store.transition(hostId, 'Connected');
    const session = new AgentSession(hostId, socket, hello.commands);
    session.unconfirmed = credentials !== undefined;
    // One connection per host: the newest wins (the old one is a half-dead socket of the same agent).
    this.sessions.get(hostId)?.close(CloseCode.Replaced, 'replaced by a newer connection');
    this.sessions.set(hostId, session);
    session.post({
      kind: 'welcome',
      version: CHANNEL_PROTOCOL_VERSION,
      hostId,
      heartbeatMs: this.heartbeatMs,
      ...(credentials ? { credentials } : {}),
    });
    this.log.info({ hostId, registered: credentials !== undefined }, 'agent connected');
    for (const l of this.connectionListeners) l(hostId, true);
    void this.reconcile(hostId, hello.report, true);
    return session;
  }

  private async dropped(session: AgentSession, reason: string): Promise<void> {
    session.failAll(reason);
    if (this.sessions.get(session.hostId) !== session) return; // replaced: the host is still connected
    this.sessions.delete(session.hostId);
    await this.store.transition(session.hostId, 'Disconnected').catch(() => undefined);
    this.log.warn({ hostId: session.hostId, reason }, 'agent disconnected');
    for (const l of this.connectionListeners) l(session.hostId, false);
  }

  /**
   * Hosts no server hears from: a server that died (SIGKILL, power) never marked its agents
   * Disconnected, and its agents may not have found another server. Any server sweeps them, by
   * `last_seen_at` (every server touches it on each heartbeat it receives).
   */
  private async sweepSilent(): Promise<void> {
    // twice the per-connection limit, so a live agent between two heartbeats is never caught
    const silentMs = this.missAfterMs * 2;
    for (const hostId of await this.store.silentHosts(silentMs)) {
      if (this.sessions.has(hostId)) continue;
      const moved = await this.store.transition(hostId, 'Disconnected', { ifSilentMs: silentMs });
      if (moved) this.log.warn({ hostId, from: moved.from }, 'host silent: marked Disconnected');
    }
  }

  /** Ends sessions whose heartbeats stopped: the socket may look open while the agent is gone. */
  private sweep(): void {
    const now = Date.now();
    // A sweep that runs late means this process was busy (an embedded-database query, a burst of
    // work): messages from agents may be waiting unread on their sockets. Silence measured across
    // such a stall is not evidence, so this round judges no session.
    const late = this.lastSweepAt > 0 && now - this.lastSweepAt > this.sweepEveryMs * 2;
    this.lastSweepAt = now;
    if (late) return;
    if (now - this.lastSilentSweep >= this.missAfterMs) {
      this.lastSilentSweep = now;
      void this.sweepSilent().catch((e: unknown) =>
        this.log.warn({ err: toWireError(e) }, 'silent-host sweep failed'),
      );
    }
    for (const session of this.sessions.values()) {
      if (now - session.lastSeen > this.missAfterMs) {
        session.terminate('heartbeat lost');
        void this.dropped(session, 'heartbeat lost');
      }
    }
  }

  private async reconcile(hostId: string, report: AgentStateReport, onConnect: boolean): Promise<void> {
    try {
      const previous = await this.store.swapReport(hostId, report);
      const differences = diffReports(previous, report);
      for (const d of differences)
        await this.store.recordEvent(hostId, 'HOST.RECONCILE', describeDifference(d));
      const ctx: ReconcileContext = { hostId, report, previous, differences, onConnect };
      for (const hook of this.reconcileHooks) await hook(ctx);
    } catch (e) {
      this.log.warn({ hostId, err: toWireError(e) }, 'reconcile failed');
    }
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}
