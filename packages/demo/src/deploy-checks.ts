// Checks of the shipped deployment files (deploy/systemd, deploy/etc/strata) against the code:
// the units parse, ExecStart runs a file the build produces, and every setting they name is one
// the process reads. Used by deploy-units.test.ts.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Where the units expect the repository (docs/deploy.md): a built clone. */
export const INSTALL_ROOT = '/opt/strata/';

/** One unit file: its sections, each an ordered list of key/value pairs (keys may repeat). */
export type UnitFile = Map<string, Array<[string, string]>>;

/**
 * Parses systemd's ini dialect strictly: blank lines, `#`/`;` comments, `[Section]`, `Key=value`,
 * a trailing `\` continuing the line. Anything else (a key before any section, a line without `=`)
 * is an error naming the line.
 */
export function parseUnit(text: string, name: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: Array<[string, string]> | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const at = i + 1;
    let line = lines[i]!.trim();
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      if (unit.has(header[1]!)) throw new Error(`${name}:${at}: section [${header[1]}] twice`);
      section = [];
      unit.set(header[1]!, section);
      continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*)$/.exec(line);
    if (!kv) throw new Error(`${name}:${at}: not a section, comment or Key=value: ${line}`);
    if (!section) throw new Error(`${name}:${at}: ${kv[1]} before any section`);
    section.push([kv[1]!, kv[2]!]);
  }
  return unit;
}

export function values(unit: UnitFile, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

/** ExecStart's program and the script it runs, checked to be a node entry under INSTALL_ROOT. */
export function execStart(unit: UnitFile, name: string): { program: string; script: string } {
  const all = values(unit, 'Service', 'ExecStart');
  if (all.length !== 1) throw new Error(`${name}: ${all.length} ExecStart lines, want 1`);
  const [program, script, ...rest] = all[0]!.split(/\s+/);
  if (!program?.startsWith('/') || !program.endsWith('/node'))
    throw new Error(`${name}: ExecStart runs ${program}, not node by absolute path`);
  if (!script?.startsWith(INSTALL_ROOT) || !script.endsWith('.js'))
    throw new Error(`${name}: ExecStart's script ${script} is not a .js file under ${INSTALL_ROOT}`);
  if (rest.length > 0)
    throw new Error(`${name}: ExecStart passes flags (${rest.join(' ')}); settings go in its env file`);
  return { program, script };
}

/** The repository file an installed path stands for. */
export function inRepo(repo: string, installed: string): string {
  return join(repo, installed.slice(INSTALL_ROOT.length));
}

/**
 * The environment variables an env file (systemd EnvironmentFile= syntax) names: assignments,
 * commented-out assignments, and any STRATA_* word in its comments. Lines that are neither
 * blank, comment nor NAME=value are errors.
 */
export function envFileNames(text: string, name: string): string[] {
  const names = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      for (const m of line.matchAll(/\bSTRATA_[A-Z0-9_]+\b/g)) names.add(m[0]);
      const commented = /^#\s*([A-Z][A-Z0-9_]*)=/.exec(line);
      if (commented) names.add(commented[1]!);
      return;
    }
    const kv = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(line);
    if (!kv) throw new Error(`${name}:${i + 1}: not a comment or NAME=value: ${line}`);
    names.add(kv[1]!);
  });
  return [...names];
}

/** Names assigned with Environment= in a unit (`Environment=A=1 "B=2"`). */
export function unitEnvNames(unit: UnitFile): string[] {
  return values(unit, 'Service', 'Environment').flatMap((v) =>
    [...v.matchAll(/(?:^|\s|")([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]!),
  );
}

const isProductSource = (path: string): boolean =>
  path.endsWith('.ts') &&
  !path.endsWith('.test.ts') &&
  !path.endsWith('.d.ts') &&
  !/\/(testing|test-support)\//.test(path) &&
  !path.endsWith('/fixture-agent.ts');

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(path)));
    else if (isProductSource(path)) out.push(path);
  }
  return out;
}

/**
 * Every upper-case name a product source file under `dirs` has as a whole string literal
 * (`env['STRATA_PORT']`, `MIGRATION_URI_ENV = 'STRATA_AGENT_MIGRATION_URI'`): the names that code
 * can read. A name only in a comment, a help text or a test is not one.
 */
export async function namesReadBy(dirs: readonly string[]): Promise<Set<string>> {
  const names = new Set<string>();
  for (const dir of dirs)
    for (const file of await sources(dir))
      for (const m of (await readFile(file, 'utf8')).matchAll(/['"`]([A-Z][A-Z0-9_]+)['"`]/g))
        names.add(m[1]!);
  return names;
}

/** The package sources a script under packages/<name>/dist/ was built from. */
export function sourceDirOf(repo: string, script: string): string {
  const m = /^packages\/(.+?)\/dist\//.exec(script.slice(INSTALL_ROOT.length));
  if (!m) throw new Error(`${script} is not a package's built file`);
  return join(repo, 'packages', m[1]!, 'src');
}

/** The env examples for an EnvironmentFile=/etc/strata/<x>.env: deploy/etc/strata/<x>.env and <x>-*.env. */
export async function examplesOf(repo: string, envFile: string): Promise<string[]> {
  const m = /^-?\/etc\/strata\/([a-z0-9-]+)\.env$/.exec(envFile);
  if (!m) return [];
  const dir = join(repo, 'deploy/etc/strata');
  return (await readdir(dir))
    .filter((f) => f === `${m[1]}.env` || (f.startsWith(`${m[1]}-`) && f.endsWith('.env')))
    .map((f) => join(dir, f));
}

/** Everything wrong with one unit file, checked against the built repository; empty when none. */
export async function unitProblems(repo: string, name: string, text: string): Promise<string[]> {
  const problems: string[] = [];
  let unit: UnitFile;
  let script: string;
  try {
    unit = parseUnit(text, name);
    script = execStart(unit, name).script;
  } catch (e) {
    return [(e as Error).message];
  }
  for (const s of ['Unit', 'Service', 'Install'])
    if (!unit.has(s)) problems.push(`${name}: no [${s}] section`);
  if (values(unit, 'Service', 'Restart').length !== 1) problems.push(`${name}: no Restart=`);
  const built = inRepo(repo, script);
  const head = await readFile(built, 'utf8').then(
    (t) => t.split('\n')[0],
    () => null,
  );
  if (head === null) problems.push(`${name}: ExecStart's ${script} is not in the build (${built})`);
  else if (head !== '#!/usr/bin/env node')
    problems.push(`${name}: ${script} is not a process entry (no node shebang)`);
  const envFiles = values(unit, 'Service', 'EnvironmentFile');
  if (envFiles.length === 0) problems.push(`${name}: no EnvironmentFile=`);
  const named = new Map<string, string>(unitEnvNames(unit).map((n) => [n, name]));
  for (const f of envFiles) {
    const examples = await examplesOf(repo, f);
    if (examples.length === 0)
      problems.push(`${name}: no example in deploy/etc/strata for EnvironmentFile=${f}`);
    for (const ex of examples)
      for (const n of envFileNames(await readFile(ex, 'utf8'), ex)) named.set(n, ex.slice(repo.length));
  }
  const read = await namesReadBy([sourceDirOf(repo, script)]);
  for (const [n, where] of named)
    if (!read.has(n))
      problems.push(`${where}: ${n} is not read by ${script.slice(INSTALL_ROOT.length)}'s package`);
  return problems;
}
