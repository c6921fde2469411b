import { cpus, totalmem } from 'node:os';
import { StrataError, type HostFacts } from '@strata/core';

/**
 * What the host reports of its size when told a smaller one than the machine has: a share of a
 * machine, or a test host made small so that "no room" can happen. Absent fields: the machine's.
 */
export interface ReportedCapacity {
  readonly cpus?: number;
  readonly memoryBytes?: number;
}

export interface MachineCapacity {
  readonly cpus: number;
  readonly memoryBytes: number;
}

export const machineCapacity = (): MachineCapacity => ({ cpus: cpus().length, memoryBytes: totalmem() });

const SETTINGS = {
  cpus: { env: 'STRATA_AGENT_CPUS', unit: 'CPUs' },
  memoryBytes: { env: 'STRATA_AGENT_MEMORY_BYTES', unit: 'bytes of memory' },
} as const;

function one(
  key: keyof typeof SETTINGS,
  raw: unknown,
  machine: MachineCapacity,
  from: string,
): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  // digits only in the environment ("2e9", "0x10", " 4" and "4.0" are mistakes); a JSON number in the file
  const fromEnv = from === SETTINGS[key].env;
  const value = fromEnv
    ? typeof raw === 'string' && /^\d+$/.test(raw)
      ? Number(raw)
      : NaN
    : typeof raw === 'number'
      ? raw
      : NaN;
  const most = machine[key];
  if (!Number.isSafeInteger(value) || value < 1 || value > most) {
    throw new StrataError('INVALID_ARGUMENT', {
      field: key,
      reason: `${from} must be a whole number from 1 to this machine's ${most} ${SETTINGS[key].unit}, not ${JSON.stringify(raw)}`,
    });
  }
  return value;
}

/**
 * The capacity to report: STRATA_AGENT_CPUS and STRATA_AGENT_MEMORY_BYTES, else the config
 * file's `cpus` and `memoryBytes`. Each a positive integer no larger than the machine's (a host
 * cannot offer what it does not have); INVALID_ARGUMENT naming the setting otherwise.
 */
export function reportedCapacity(
  env: NodeJS.ProcessEnv,
  fromFile: Partial<Record<string, unknown>>,
  machine: MachineCapacity = machineCapacity(),
): ReportedCapacity {
  const pick = (key: keyof typeof SETTINGS) => {
    const fromEnv = env[SETTINGS[key].env];
    return fromEnv !== undefined && fromEnv !== ''
      ? one(key, fromEnv, machine, SETTINGS[key].env)
      : one(key, fromFile[key], machine, `"${key}" in the config file`);
  };
  const c = pick('cpus');
  const m = pick('memoryBytes');
  return { ...(c !== undefined && { cpus: c }), ...(m !== undefined && { memoryBytes: m }) };
}

/** The host's facts with the reported capacity in place of the machine's. */
export const withCapacity = (facts: HostFacts, capacity: ReportedCapacity): HostFacts => ({
  ...facts,
  ...capacity,
});
