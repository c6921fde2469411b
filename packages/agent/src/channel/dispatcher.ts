import {
  isAgentCommand,
  StrataError,
  toWireError,
  type AgentCommand,
  type CommandParams,
  type CommandResult,
  type RequestMessage,
  type ResponseMessage,
} from '@strata/core';

/** What a handler gets besides its parameters: a signal that fires when the server's timeout passes. */
export interface CommandContext {
  readonly requestId: string;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

export type CommandHandler<C extends AgentCommand> = (
  params: CommandParams<C>,
  ctx: CommandContext,
) => Promise<CommandResult<C>> | CommandResult<C>;

/** The commands one agent implements; any it leaves out answer AGENT_UNKNOWN_COMMAND. */
export type CommandHandlers = { readonly [C in AgentCommand]?: CommandHandler<C> };

/**
 * Runs one request to its answer. Never throws: every failure becomes a coded error response, and
 * a handler still running at the request's timeout is abandoned with TIMEOUT (its signal aborted).
 */
export async function dispatch(handlers: CommandHandlers, request: RequestMessage): Promise<ResponseMessage> {
  const { id, command, timeoutMs } = request;
  const handler = isAgentCommand(command)
    ? (handlers[command] as CommandHandler<AgentCommand> | undefined)
    : undefined;
  if (!handler) {
    return {
      kind: 'response',
      id,
      ok: false,
      error: toWireError(new StrataError('AGENT_UNKNOWN_COMMAND', { command })),
    };
  }
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new StrataError('TIMEOUT', { what: `command ${command}`, ms: timeoutMs }));
    }, timeoutMs);
  });
  try {
    const run = Promise.resolve().then(() =>
      handler(request.params as CommandParams<AgentCommand>, {
        requestId: id,
        signal: controller.signal,
        timeoutMs,
      }),
    );
    const result = await Promise.race([run, timedOut]);
    return { kind: 'response', id, ok: true, result: result ?? null };
  } catch (e) {
    return { kind: 'response', id, ok: false, error: toWireError(e) };
  } finally {
    clearTimeout(timer);
  }
}

export function handledCommands(handlers: CommandHandlers): AgentCommand[] {
  return (Object.keys(handlers) as AgentCommand[]).filter(
    (c) => isAgentCommand(c) && handlers[c] !== undefined,
  );
}
