import { defineErrors } from './spec.js';

/** Errors of the agent area. */
export const agentErrors = defineErrors('agent', {});
