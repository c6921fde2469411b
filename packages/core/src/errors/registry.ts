import { agentErrors } from './agent.js';
import { apiErrors } from './api.js';
import { commonErrors } from './common.js';
import { jobsErrors } from './jobs.js';
import { orchestrationErrors } from './orchestration.js';
import { secretsErrors } from './secrets.js';
import { snapshotErrors } from './snapshot.js';
import type { ErrorSpec } from './spec.js';
import { storageErrors } from './storage.js';

/** Every area, in the order the generated docs list them. */
export const errorAreas = [
  commonErrors,
  apiErrors,
  jobsErrors,
  storageErrors,
  agentErrors,
  snapshotErrors,
  orchestrationErrors,
  secretsErrors,
] as const;

type Specs = (typeof errorAreas)[number]['specs'];
type KeysOfUnion<T> = T extends unknown ? keyof T : never;
export type ErrorCode = Extract<KeysOfUnion<Specs>, string>;

function merge(): ReadonlyMap<string, ErrorSpec & { area: string }> {
  const all = new Map<string, ErrorSpec & { area: string }>();
  for (const { area, specs } of errorAreas) {
    for (const [code, spec] of Object.entries(specs as Record<string, ErrorSpec>)) {
      if (all.has(code)) throw new Error(`error code ${code} is defined twice`);
      all.set(code, { ...spec, area });
    }
  }
  return all;
}

export const errorRegistry = merge();

export function errorSpec(code: ErrorCode): ErrorSpec & { area: string } {
  const spec = errorRegistry.get(code);
  if (!spec) throw new Error(`unknown error code ${code}`);
  return spec;
}
