import { StrataError } from '@strata/core';
import type { JobDefinition, Json } from './types.js';

/** Job types by name; registration rejects empty or duplicate names so a type always means one thing. */
export class Definitions {
  private readonly byType = new Map<string, JobDefinition>();

  add<I extends Json>(def: JobDefinition<I>): void {
    const invalid = (reason: string) => new StrataError('JOB_DEFINITION_INVALID', { type: def.type, reason });
    if (typeof def.type !== 'string' || def.type.trim() === '') throw invalid('empty type');
    if (this.byType.has(def.type)) throw invalid('type already registered');
    if (def.steps.length === 0) throw invalid('no steps');
    const names = new Set<string>();
    for (const step of def.steps) {
      if (typeof step.name !== 'string' || step.name.trim() === '') throw invalid('a step has an empty name');
      if (names.has(step.name)) throw invalid(`step ${step.name} appears twice`);
      names.add(step.name);
    }
    this.byType.set(def.type, def);
  }

  /** The definition of a type, or undefined when this server does not run it. */
  find(type: string): JobDefinition | undefined {
    return this.byType.get(type);
  }

  get(type: string): JobDefinition {
    const def = this.byType.get(type);
    if (!def) throw new StrataError('JOB_TYPE_UNKNOWN', { type });
    return def;
  }

  has(type: string): boolean {
    return this.byType.has(type);
  }

  types(): string[] {
    return [...this.byType.keys()];
  }
}
