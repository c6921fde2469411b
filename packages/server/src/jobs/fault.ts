import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { StrataError } from '@strata/core';

/**
 * Test hook, off unless STRATA_FAULT_KILL_AT is set: `<jobType>:<step>:<before|after>` makes this
 * process SIGKILL itself at that step boundary of a job's run, so crash tests can stop the server
 * at exactly one point. "before": nothing of the step has run (an external step is already
 * journaled as started, so a restart treats it as interrupted); "after": its done record
 * committed. Never set it in production.
 */
export type FaultBoundary = 'before' | 'after';

interface FaultPoint {
  readonly jobType: string;
  readonly step: string;
  readonly boundary: FaultBoundary;
}

/** The environment variable that arms the hook. */
export const FAULT_ENV = 'STRATA_FAULT_KILL_AT';

/**
 * Reads `<jobType>:<step>:<before|after>`; null when unset. A set but malformed value is a coded
 * error: a crash test whose hook silently never fires would pass without testing anything.
 */
export function parseFaultPoint(spec: string | undefined): FaultPoint | null {
  if (spec === undefined || spec === '') return null;
  // Job types hold dots and steps hyphens, never colons: split from the right.
  const parts = spec.split(':');
  const boundary = parts.pop();
  const step = parts.pop();
  const jobType = parts.join(':');
  if ((boundary !== 'before' && boundary !== 'after') || !step || !jobType)
    throw new StrataError('INVALID_ARGUMENT', {
      field: FAULT_ENV,
      reason: '<jobType>:<step>:<before|after>',
    });
  return { jobType, step, boundary };
}

let point: FaultPoint | null | undefined;

/** Parses the hook's setting once; the engine calls it at creation so a bad value stops the start. */
export function armedFaultPoint(): FaultPoint | null {
  return (point ??= parseFaultPoint(process.env[FAULT_ENV]));
}

/** Kills this process with SIGKILL when (jobType, step, boundary) is the configured fault point. */
function faultPoint(jobType: string, step: string, boundary: FaultBoundary): void {
  const point = armedFaultPoint();
  if (!point || point.jobType !== jobType || point.step !== step || point.boundary !== boundary) return;
  process.stderr.write(`STRATA_FAULT_KILL_AT ${jobType}:${step}:${boundary}: killing this process\n`);
  process.kill(process.pid, 'SIGKILL');
}

/**
 * Second test hook, off unless STRATA_FAULT_HOLD_FILE is set: when that file exists and holds
 * `<jobType>:<step>:<before|after>`, the job stops at that boundary, writes `<file>.held`, and
 * goes on once the test removes the file (at most ten minutes). Crash tests use it to kill the
 * agents at an exact step boundary while the server lives on. The file is read afresh at every
 * boundary, so one server serves many cases. Never set it in production.
 */
export const FAULT_HOLD_ENV = 'STRATA_FAULT_HOLD_FILE';

/**
 * The hold file's other form, `fail <jobType>:<step>:before`: the step fails there (INTERNAL,
 * naming the hook) without running, so a test can fail one exact step after real work (a guest
 * moved) and watch the undo. Only at `before`: after it, the step's work is journaled done. A
 * job held at a `before` boundary fails there when the file is rewritten to its fail form, so a
 * test can act while the job waits (stop an agent) and then make the step fail.
 */
export const FAIL_PREFIX = 'fail ';

const HOLD_LIMIT_MS = 600_000;

async function faultHold(jobType: string, step: string, boundary: FaultBoundary): Promise<void> {
  const file = process.env[FAULT_HOLD_ENV];
  if (!file || !existsSync(file)) return;
  const text = readHold(file);
  const fails = text.startsWith(FAIL_PREFIX);
  const held = parseFaultPoint(fails ? text.slice(FAIL_PREFIX.length).trim() : text);
  if (!held || held.jobType !== jobType || held.step !== step || held.boundary !== boundary) return;
  if (fails) {
    if (boundary === 'before') failHere(text);
    return;
  }
  process.stderr.write(`${FAULT_HOLD_ENV} ${jobType}:${step}:${boundary}: held until ${file} is removed\n`);
  writeFileSync(`${file}.held`, `${process.pid}\n`);
  const end = Date.now() + HOLD_LIMIT_MS;
  while (existsSync(file) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    // rewritten to its fail form while held: the step fails now (the test did its work meanwhile)
    const now = readHold(file);
    if (boundary === 'before' && now === `${FAIL_PREFIX}${text}`) failHere(now);
  }
}

/** The hold file's text; empty when it is gone (the test may remove it at any moment). */
function readHold(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function failHere(text: string): never {
  process.stderr.write(`${FAULT_HOLD_ENV} ${text}: the step fails\n`);
  throw new StrataError('INTERNAL', { reason: `${FAULT_HOLD_ENV}: ${text}` });
}

/** The test hooks at one step boundary: the kill (STRATA_FAULT_KILL_AT), then the hold. */
export async function faultBoundary(jobType: string, step: string, boundary: FaultBoundary): Promise<void> {
  faultPoint(jobType, step, boundary);
  await faultHold(jobType, step, boundary);
}
