import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import {
  CHANNEL_PROTOCOL_VERSION,
  CloseCode,
  decodeMessage,
  encodeMessage,
  fromWireError,
  StrataError,
  toStrataError,
  type AgentEventMap,
  type AgentEventType,
  type AgentStateReport,
  type AgentToServer,
  type EventMessage,
  type HostFacts,
} from '@strata/core';
import { backoffDelay, defaultBackoff, type BackoffOptions } from './backoff.js';
import { loadCredentials, saveCredentials } from './credentials-file.js';
import { dispatch, handledCommands, type CommandHandlers } from './dispatcher.js';
import { checkPinnedCertificate } from './pinning.js';

export interface AgentChannelOptions {
  /** `wss://server:8843/agent/v1` */
  readonly url: string;
  /** SHA-256 fingerprint of the server's certificate, given with the registration token. */
  readonly fingerprint: string;
  /** Where the host's id and secret are kept (0600); written at registration. */
  readonly credentialsFile: string;
  /** One-time token, used only while the credentials file does not exist. */
  readonly registrationToken?: string;
  readonly facts: () => Promise<HostFacts>;
  readonly report: () => Promise<AgentStateReport>;
  readonly handlers: CommandHandlers;
  readonly backoff?: BackoffOptions;
  /** Events kept while disconnected (oldest dropped first); the next state report covers the rest. */
  readonly maxQueuedEvents?: number;
}

export type ChannelState = 'idle' | 'connecting' | 'connected' | 'stopped';

/**
 * The agent's end of the channel. Emits `connected` (hostId), `disconnected` (reason), `fatal`
 * (StrataError: a refusal that retrying cannot fix — wrong secret, bad token, pin mismatch — after
 * which the channel stops) and `error` is never emitted: every failure is a reconnect or `fatal`.
 */
export class AgentChannel extends EventEmitter {
  private socket: WebSocket | undefined;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastHeard = 0;
  private queue: EventMessage[] = [];
  state: ChannelState = 'idle';
  hostId: string | undefined;

  constructor(private readonly options: AgentChannelOptions) {
    super();
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.connect();
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeatTimer);
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.close(1000, 'agent stopping');
      setTimeout(() => {
        socket.terminate();
        resolve();
      }, 2_000).unref();
    });
  }

  /** Streams one event to the server (queued while disconnected). */
  emitEvent<T extends AgentEventType>(type: T, payload: AgentEventMap[T]): void {
    const message = { kind: 'event', type, payload, at: new Date().toISOString() } as EventMessage;
    if (this.state === 'connected') this.post(message);
    else {
      this.queue.push(message);
      const max = this.options.maxQueuedEvents ?? 1_000;
      if (this.queue.length > max) this.queue.splice(0, this.queue.length - max);
    }
  }

  /** Sends the host's real state now (the server reconciles against it). */
  async sendReport(): Promise<void> {
    if (this.state !== 'connected') return;
    this.post({ kind: 'report', report: await this.options.report() });
  }

  /** Resolves at the next successful connection. */
  waitConnected(): Promise<string> {
    if (this.state === 'connected' && this.hostId) return Promise.resolve(this.hostId);
    return new Promise((resolve) => this.once('connected', resolve));
  }

  private connect(): void {
    if (this.state === 'stopped') return;
    this.state = 'connecting';
    // The first message is built before the socket opens: the server gives a new socket only a
    // few seconds to say hello, and a busy host's report can take longer than that.
    this.firstMessage().then(
      (first) => this.open(first),
      (e: unknown) => {
        const failure = toStrataError(e);
        if (!failure.retryable) {
          this.state = 'stopped';
          this.emit('fatal', failure);
          return;
        }
        this.scheduleReconnect();
      },
    );
  }

  private open(first: AgentToServer): void {
    if (this.state === 'stopped') return;
    // The server's certificate is self-signed: it is checked by its pinned fingerprint, not by a CA.
    const socket = new WebSocket(this.options.url, { rejectUnauthorized: false, handshakeTimeout: 10_000 });
    this.socket = socket;
    let failure: StrataError | undefined;
    socket.on('upgrade', (response) => {
      try {
        checkPinnedCertificate(response, this.options.fingerprint);
      } catch (e) {
        failure = toStrataError(e);
        socket.terminate();
      }
    });
    socket.on('open', () => {
      // A server that takes the hello but never answers must not hold the agent forever.
      const welcomeTimer = setTimeout(() => {
        if (this.state !== 'connected') socket.terminate();
      }, 30_000);
      socket.once('close', () => clearTimeout(welcomeTimer));
      socket.send(encodeMessage(first));
    });
    socket.on('message', (data: WebSocket.RawData) => {
      void this.receive(socket, data).catch((e: unknown) => {
        failure = toStrataError(e);
        socket.terminate();
      });
    });
    socket.on('error', (e) => {
      failure ??= new StrataError('UNAVAILABLE', { what: 'management server', reason: e.message });
    });
    socket.on('close', (code, reason) => {
      clearInterval(this.heartbeatTimer);
      const wasConnected = this.state === 'connected';
      if (this.state !== 'stopped') this.state = 'connecting';
      if (wasConnected) this.emit('disconnected', reason.toString() || `closed ${code}`);
      if (code === CloseCode.Replaced) {
        // A live socket replaced by a newer one of the same host: another agent holds our
        // credentials. Reconnecting would make the two evict each other forever.
        failure = new StrataError('AGENT_AUTH_FAILED', {
          hostId: this.hostId,
          reason: 'another agent connected with the same host credentials',
        });
      }
      if (failure && !failure.retryable) {
        this.state = 'stopped';
        this.emit('fatal', failure);
        return;
      }
      this.scheduleReconnect();
    });
  }

  /** hello (known host) or register (first contact, with the one-time token). */
  private async firstMessage(): Promise<AgentToServer> {
    const [facts, report, credentials] = await Promise.all([
      this.options.facts(),
      this.options.report(),
      loadCredentials(this.options.credentialsFile),
    ]);
    const commands = handledCommands(this.options.handlers);
    let first: AgentToServer;
    if (credentials) {
      first = { kind: 'hello', version: CHANNEL_PROTOCOL_VERSION, ...credentials, facts, report, commands };
    } else if (this.options.registrationToken) {
      first = {
        kind: 'register',
        version: CHANNEL_PROTOCOL_VERSION,
        token: this.options.registrationToken,
        facts,
        report,
        commands,
      };
    } else {
      throw new StrataError('AGENT_REGISTRATION_REFUSED', {
        reason: `no credentials in ${this.options.credentialsFile} and no registration token given`,
      });
    }
    return first;
  }

  private async receive(socket: WebSocket, data: WebSocket.RawData): Promise<void> {
    this.lastHeard = Date.now();
    const message = decodeMessage(rawText(data));
    switch (message.kind) {
      case 'welcome':
        if (message.credentials) await saveCredentials(this.options.credentialsFile, message.credentials);
        this.welcomed(socket, message.hostId, message.heartbeatMs);
        return;
      case 'refused':
        throw fromWireError(message.error);
      case 'heartbeat':
        return;
      case 'request':
        this.post(await dispatch(this.options.handlers, message));
        return;
      default:
        socket.close(CloseCode.ProtocolError, `unexpected ${message.kind}`);
    }
  }

  private welcomed(socket: WebSocket, hostId: string, heartbeatMs: number): void {
    this.hostId = hostId;
    this.state = 'connected';
    this.attempt = 0;
    const queued = this.queue;
    this.queue = [];
    for (const event of queued) this.post(event);
    clearInterval(this.heartbeatTimer);
    let tickedAt = Date.now();
    this.heartbeatTimer = setInterval(() => {
      const now = Date.now();
      // A tick that comes late means this process was busy: the server's answers may be waiting
      // unread, so silence is judged only across ticks that came on time.
      const late = now - tickedAt > heartbeatMs * 2;
      tickedAt = now;
      // The server answers every heartbeat: silence for six periods means the path is dead. Not
      // three: a server on a machine at load 17 (its embedded database in-process) answered requests
      // 16 s late, and this agent's judgement cut a healthy session under a running command.
      if (!late && now - this.lastHeard > heartbeatMs * SILENT_PERIODS) {
        socket.terminate();
        return;
      }
      this.post({ kind: 'heartbeat', at: new Date().toISOString() });
    }, heartbeatMs);
    this.emit('connected', hostId);
  }

  private post(message: AgentToServer): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(encodeMessage(message));
  }

  private scheduleReconnect(): void {
    if (this.state === 'stopped') return;
    const delay = backoffDelay(this.attempt++, this.options.backoff ?? defaultBackoff);
    this.emit('reconnecting', delay);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}

/** Heartbeat periods of silence from the server after which the agent gives the connection up. */
export const SILENT_PERIODS = 6;

function rawText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}
