import type { AgentCommand, CommandParams, CommandResult } from '@strata/core';

/**
 * How orchestration reaches a host agent: one typed command, answered or failed with a coded
 * error. The agent hub implements it over the TLS channel; nothing here knows the transport.
 */
export interface AgentPort {
  send<C extends AgentCommand>(
    hostId: string,
    command: C,
    params: CommandParams<C>,
    options?: { readonly timeoutMs?: number; readonly signal?: AbortSignal },
  ): Promise<CommandResult<C>>;
}
