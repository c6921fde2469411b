import { StrataError } from '../errors/strata-error.js';
import type { AgentEventMap, AgentEventType } from './events.js';
import type { AgentStateReport, HostFacts } from './facts.js';

/** Wire protocol version. A peer speaking another one is refused with AGENT_PROTOCOL_MISMATCH. */
export const CHANNEL_PROTOCOL_VERSION = 1;

/** WebSocket path the server serves the agent channel on. */
export const CHANNEL_PATH = '/agent/v1';

/** WebSocket close codes (4000–4999 are the application's). */
export const CloseCode = {
  Refused: 4401,
  ProtocolError: 4400,
  HeartbeatLost: 4408,
  Replaced: 4409,
  ServerStopping: 4503,
} as const;

/** A coded error as it crosses the wire (StrataError's shape without the HTTP status). */
export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly details?: Record<string, string | number | boolean | undefined>;
}

/** Agent → server, first message of a new host: the one-time token and the host's facts. */
export interface RegisterMessage {
  readonly kind: 'register';
  readonly version: number;
  readonly token: string;
  readonly facts: HostFacts;
  readonly report: AgentStateReport;
  /** Commands this agent handles. */
  readonly commands: readonly string[];
}

/** Agent → server, first message of a known host: its id and secret. */
export interface HelloMessage {
  readonly kind: 'hello';
  readonly version: number;
  readonly hostId: string;
  readonly secret: string;
  readonly facts: HostFacts;
  readonly report: AgentStateReport;
  readonly commands: readonly string[];
}

/** Server → agent: accepted. `credentials` only answers a registration (shown once, never again). */
export interface WelcomeMessage {
  readonly kind: 'welcome';
  readonly version: number;
  readonly hostId: string;
  readonly heartbeatMs: number;
  readonly credentials?: { readonly hostId: string; readonly secret: string };
}

/** Server → agent: refused; the server closes the socket right after. */
export interface RefusedMessage {
  readonly kind: 'refused';
  readonly error: WireError;
}

/** Either way; the server answers each agent heartbeat with one of its own. */
export interface HeartbeatMessage {
  readonly kind: 'heartbeat';
  readonly at: string;
}

export interface RequestMessage {
  readonly kind: 'request';
  readonly id: string;
  readonly command: string;
  readonly params: unknown;
  /** The agent abandons (and answers TIMEOUT) when it cannot finish in time. */
  readonly timeoutMs: number;
}

export type ResponseMessage =
  | { readonly kind: 'response'; readonly id: string; readonly ok: true; readonly result: unknown }
  | { readonly kind: 'response'; readonly id: string; readonly ok: false; readonly error: WireError };

export interface EventMessage<T extends AgentEventType = AgentEventType> {
  readonly kind: 'event';
  readonly type: T;
  readonly payload: AgentEventMap[T];
  readonly at: string;
}

/** Agent → server, whenever its state changed in a way the server must reconcile. */
export interface ReportMessage {
  readonly kind: 'report';
  readonly report: AgentStateReport;
}

export type AgentToServer =
  RegisterMessage | HelloMessage | HeartbeatMessage | ResponseMessage | EventMessage | ReportMessage;
export type ServerToAgent = WelcomeMessage | RefusedMessage | HeartbeatMessage | RequestMessage;
export type ChannelMessage = AgentToServer | ServerToAgent;

const required: Record<ChannelMessage['kind'], readonly string[]> = {
  register: ['version', 'token', 'facts', 'report'],
  hello: ['version', 'hostId', 'secret', 'facts', 'report'],
  welcome: ['version', 'hostId', 'heartbeatMs'],
  refused: ['error'],
  heartbeat: ['at'],
  request: ['id', 'command', 'timeoutMs'],
  response: ['id', 'ok'],
  event: ['type', 'payload'],
  report: ['report'],
};

export function encodeMessage(message: ChannelMessage): string {
  return JSON.stringify(message);
}

/** Parses one frame; anything malformed is INVALID_ARGUMENT (the peer closes with ProtocolError). */
export function decodeMessage(text: string): ChannelMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StrataError('INVALID_ARGUMENT', { field: 'frame', reason: 'not JSON' });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StrataError('INVALID_ARGUMENT', { field: 'frame', reason: 'not an object' });
  }
  const record = value as Record<string, unknown>;
  const kind = record['kind'];
  if (typeof kind !== 'string' || !Object.hasOwn(required, kind)) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'kind',
      reason: `unknown message kind ${String(kind)}`,
    });
  }
  for (const field of required[kind as ChannelMessage['kind']]) {
    if (record[field] === undefined)
      throw new StrataError('INVALID_ARGUMENT', { field, reason: `missing in ${kind}` });
  }
  if (kind === 'response' && record['ok'] === false && typeof record['error'] !== 'object') {
    throw new StrataError('INVALID_ARGUMENT', { field: 'error', reason: 'missing in failed response' });
  }
  return value as ChannelMessage;
}

/** A thrown value as a wire error: StrataErrors keep their code; anything else is INTERNAL. */
export function toWireError(error: unknown): WireError {
  if (error instanceof StrataError) {
    return { code: error.code, message: error.message, retryable: error.retryable, details: error.params };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: 'INTERNAL',
    message: `Internal error: ${message}`,
    retryable: true,
    details: { reason: message },
  };
}
