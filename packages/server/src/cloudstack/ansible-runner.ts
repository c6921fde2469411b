import { execFile } from 'node:child_process';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CsTarget } from './cs-client.js';

/**
 * Test support: runs Debian's real `ansible-playbook` (package `ansible`, which ships the
 * ngine_io.cloudstack collection; its modules use `cs` from `python3-cs`) against a CloudStack
 * endpoint. The playbooks live in src/cloudstack/ansible/ as an operator would write them; the
 * values a run needs (zone, offering names...) arrive as extra vars from a JSON file, never
 * through a shell.
 */
export const PLAYBOOK_DIR = fileURLToPath(new URL('../../src/cloudstack/ansible/', import.meta.url));

/** What one host's recap says (ANSIBLE_STDOUT_CALLBACK=json puts it under `stats`). */
export interface Recap {
  readonly ok: number;
  readonly changed: number;
  readonly failures: number;
  readonly unreachable: number;
  readonly skipped: number;
}

export interface PlaybookRun {
  readonly code: number;
  readonly recap: Recap;
  /** Every task's result for localhost, by task name (the last one when a name repeats). */
  readonly results: ReadonlyMap<string, Record<string, unknown>>;
  readonly stdout: string;
  readonly stderr: string;
}

/** Why Ansible cannot run here, or null when ansible-playbook and the collection are installed. */
export async function ansibleMissing(): Promise<string | null> {
  const collection = '/usr/lib/python3/dist-packages/ansible_collections/ngine_io/cloudstack';
  const found = await new Promise<boolean>((resolve) =>
    execFile('ansible-playbook', ['--version'], (err) => resolve(!err)),
  );
  if (!found) return 'ansible-playbook is not installed (Debian package ansible; scripts/install.sh adds it)';
  try {
    await access(collection);
  } catch {
    return `the ngine_io.cloudstack collection is missing (${collection}; Debian package ansible)`;
  }
  const cs = await new Promise<boolean>((resolve) =>
    execFile('/usr/bin/python3', ['-c', 'import cs'], (err) => resolve(!err)),
  );
  return cs ? null : 'the Python cs library is missing (Debian package python3-cs)';
}

interface JsonOutput {
  readonly stats?: Record<string, Recap>;
  readonly plays?: ReadonlyArray<{
    readonly tasks: ReadonlyArray<{
      readonly task: { readonly name: string };
      readonly hosts: Record<string, Record<string, unknown>>;
    }>;
  }>;
}

/** Runs one playbook from PLAYBOOK_DIR on localhost, with `vars` as extra vars. */
export async function playbook(
  target: CsTarget,
  name: string,
  vars: Readonly<Record<string, unknown>>,
  workDir: string,
): Promise<PlaybookRun> {
  const varsFile = join(workDir, `${name}.vars.json`);
  await writeFile(varsFile, JSON.stringify(vars), { mode: 0o600 });
  const argv = ['-i', 'localhost,', '-c', 'local', '-e', `@${varsFile}`, join(PLAYBOOK_DIR, `${name}.yml`)];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CLOUDSTACK_ENDPOINT: target.endpoint,
    CLOUDSTACK_KEY: target.key,
    CLOUDSTACK_SECRET: target.secret,
    CLOUDSTACK_TIMEOUT: '120',
    ANSIBLE_STDOUT_CALLBACK: 'json',
    ANSIBLE_LOCAL_TEMP: join(workDir, 'tmp'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
  };
  for (const k of ['CLOUDSTACK_CONFIG', 'CLOUDSTACK_REGION', 'CLOUDSTACK_ZONE', 'ANSIBLE_CONFIG'])
    delete env[k];
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
    (resolve, reject) =>
      execFile(
        'ansible-playbook',
        argv,
        { env, cwd: workDir, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 },
        (err, out, errOut) => {
          if (err && typeof err.code !== 'number')
            return reject(err instanceof Error ? err : new Error('ansible-playbook failed to run'));
          resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout: out, stderr: errOut });
        },
      ),
  );
  let parsed: JsonOutput;
  try {
    parsed = JSON.parse(stdout.slice(stdout.indexOf('{'))) as JsonOutput;
  } catch {
    throw new Error(`ansible-playbook ${name} printed no JSON (exit ${code}): ${stdout}\n${stderr}`);
  }
  const recap = parsed.stats?.['localhost'];
  if (!recap) throw new Error(`ansible-playbook ${name} has no recap for localhost: ${stdout}`);
  const results = new Map<string, Record<string, unknown>>();
  for (const play of parsed.plays ?? [])
    for (const t of play.tasks) {
      const r = t.hosts['localhost'];
      if (r) results.set(t.task.name, r);
    }
  return { code, recap, results, stdout, stderr };
}

/** The failed tasks' messages, for an assertion's message. */
export function failures(run: PlaybookRun): string {
  return [...run.results.entries()]
    .filter(([, r]) => r['failed'] === true)
    .map(([task, r]) => `${task}: ${JSON.stringify(r['msg'] ?? r)}`)
    .join('\n');
}
