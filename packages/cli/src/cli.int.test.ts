import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StrataError } from '@strata/core';
import { stackDatabaseUrl } from '@strata/testing';
import { startServer, type RunningServer, type ServerExtension } from '@strata/server/server';
import { createLogger } from '@strata/server/observability/index';
import { defaultExtensions } from '@strata/server/composition/defaults';
import type { HubHandle } from '@strata/server/composition/agents-extension';
import { joinStorageNode } from '@strata/server/orchestration/testing/storage-node';
import { SYSTEM_ACTOR } from '@strata/server/services/index';

// The CLI runs as a user runs it: a separate `node dist/bin.js` process, against a real server
// (startServer: services, durable job engine, REST API) on a free port over in-memory PGlite.

const BIN = join(dirname(fileURLToPath(import.meta.url)), 'bin.js');
const suffix = Math.random().toString(36).slice(2, 8);
let server: RunningServer;
let dir = '';
let configFile = '';
let node: { stop(): Promise<void> } | undefined;

/**
 * Held open by a gated progress job after its first part, until the test has seen the CLI draw a
 * Running frame: the bar is redrawn about once a second off a terminal, and a busy machine must not
 * let the job finish before the first redraw.
 */
let releaseGate: () => void = () => undefined;
const gate = () => new Promise<void>((resolve) => (releaseGate = resolve));

/** Holds a test.cli-cancel job in its first step until the test has asked to cancel it. */
let releaseCancel: () => void = () => undefined;
const cancelGate = new Promise<void>((resolve) => (releaseCancel = resolve));
let cancelAfterRan = false;

/** A job type of this test only: five steps of progress, so the bar has something to show. */
const slowJob: ServerExtension = {
  name: 'cli-test-jobs',
  start(ctx) {
    ctx.engine?.register({
      type: 'test.cli-progress',
      steps: [
        {
          name: 'work',
          async run(sctx, input) {
            const held = (input as { gated?: boolean }).gated ? gate() : null;
            for (let i = 1; i <= 5; i++) {
              sctx.progress(i * 20, `part ${i} of 5`);
              if (i === 1 && held) await held;
              await new Promise((r) => setTimeout(r, 300));
            }
            return null;
          },
        },
      ],
    });
    ctx.engine?.register({
      type: 'test.cli-cancel',
      steps: [
        { name: 'hold', run: async () => (await cancelGate, null) },
        {
          name: 'after',
          run: () => {
            cancelAfterRan = true;
            return Promise.resolve(null);
          },
        },
      ],
    });
    ctx.engine?.register({
      type: 'test.cli-fails',
      steps: [
        {
          name: 'fail',
          run: () =>
            Promise.reject(
              new StrataError('STORAGE_IOPS_EXHAUSTED', { pool: 'p1', requested: 5000, available: 10 }),
            ),
        },
      ],
    });
    return Promise.resolve();
  },
};

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function strata(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, HOME: dir, STRATA_CONFIG: configFile, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number')
          return reject(err instanceof Error ? err : new Error('process failed'));
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
      },
    );
  });
}

/** Runs the CLI and releases the job gate once its stderr matches `frame`. */
function strataReleasingWhen(args: readonly string[], frame: RegExp): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, HOME: dir, STRATA_CONFIG: configFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (frame.test(stderr)) releaseGate();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      releaseGate();
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

async function json<T>(args: readonly string[]): Promise<T> {
  const r = await strata(['-o', 'json', ...args]);
  assert.equal(r.code, 0, `strata ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-cli-'));
  configFile = join(dir, 'config', 'config.json');
  const shipped = defaultExtensions({ stateDir: join(dir, 'host-state'), agents: { port: 0 } });
  server = await startServer(
    {
      dataDir: join(dir, 'server'),
      databaseUrl: await stackDatabaseUrl('memory:', 'cli'),
      host: '127.0.0.1',
      port: 0,
      logLevel: 'warn',
      jobs: true,
    },
    {
      extensions: [...shipped, slowJob],
      logger: createLogger({ level: 'warn' }),
    },
  );
  // The qcow2 pool's driver runs on a storage node (ADR 0003): a storage-only agent holding it.
  const agents = shipped.find((e): e is typeof e & HubHandle => e.name === 'agents' && 'hub' in e);
  if (!agents) throw new Error('defaultExtensions has no agent channel');
  const s = server.services;
  const zone = await s.zones.create(SYSTEM_ACTOR, { name: `storage-${suffix}` });
  const cluster = await s.clusters.create(SYSTEM_ACTOR, { zoneId: zone.id, name: `storage-${suffix}` });
  node = await joinStorageNode(agents.hub(), { clusterId: cluster.id, dir, poolDirs: [join(dir, 'pool')] });
});

after(async () => {
  await node?.stop();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

void describe('config', () => {
  void test('import-credentials makes a 0600 profile the CLI then signs with', async () => {
    const r = await strata([
      'config',
      'import-credentials',
      join(dir, 'server', 'admin-credentials.json'),
      '--endpoint',
      server.url,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await stat(configFile)).mode & 0o777, 0o600);
    const saved = JSON.parse(await readFile(configFile, 'utf8')) as {
      currentProfile: string;
      profiles: Record<string, { endpoint: string }>;
    };
    assert.equal(saved.currentProfile, 'default');
    assert.equal(saved.profiles['default']?.endpoint, server.url);
    const who = await json<{ role: string; via: string }>(['whoami']);
    assert.equal(who.role, 'admin');
    assert.equal(who.via, 'api-key');
  });

  void test('show masks secrets; another profile is chosen with --profile', async () => {
    const shown = await strata(['config', 'show']);
    assert.equal(shown.code, 0);
    assert.ok(
      !shown.stdout.includes(server.bootstrap?.secretKey ?? 'never'),
      'the secret key must not be printed',
    );
    await strata([
      'config',
      'set-profile',
      'broken',
      '--endpoint',
      server.url,
      '--api-key',
      'nope',
      '--secret-key',
      'nope',
    ]);
    const r = await strata(['--profile', 'broken', 'zones', 'list']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error AUTH_BAD_SIGNATURE \(HTTP 401\): /m);
    assert.match(r.stderr, /^hint: /m);
  });
});

void describe('resources, tables and JSON', () => {
  const zoneName = `zone <&> "q" $x;${suffix}`;
  let zoneId = '';

  void test('zones create and list: a table for people, JSON for scripts', async () => {
    const z = await json<{ id: string; name: string }>(['zones', 'create', '--name', zoneName]);
    assert.equal(z.name, zoneName);
    zoneId = z.id;
    const t = await strata(['zones', 'list']);
    assert.equal(t.code, 0, t.stderr);
    const lines = t.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^ID\s+NAME\s+CREATED$/);
    assert.ok(
      lines.some((l) => l.startsWith(z.id) && l.includes(zoneName)),
      t.stdout,
    );
    const page = await json<{ items: Array<{ id: string }> }>(['zones', 'list', '--name', zoneName]);
    assert.deepEqual(
      page.items.map((i) => i.id),
      [z.id],
    );
  });

  void test('hosts token issues a registration token; vm-snapshots explain shows every strategy and the choice', async () => {
    const cluster = await json<{ id: string }>([
      'clusters',
      'create',
      '--zone',
      zoneId,
      '--name',
      `cl-${suffix}`,
    ]);
    const tok = await json<{ token: string; fingerprint: string; channelPath: string }>([
      'hosts',
      'token',
      '--cluster',
      cluster.id,
      '--ttl',
      '600',
    ]);
    assert.match(tok.token, /^strata-reg/);
    assert.ok(tok.fingerprint.length > 0);
    assert.equal(tok.channelPath, '/agent/v1');
    const short = await strata(['hosts', 'token', '--cluster', cluster.id, '--ttl', '5']);
    assert.equal(short.code, 1);
    assert.match(short.stderr, /^error INVALID_ARGUMENT/m);

    const vm = await json<{ id: string }>(['vms', 'create', '--name', `explain <${suffix}> "vm"`]);
    const table = await strata(['vm-snapshots', 'explain', '--vm', vm.id]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^STRATEGY\s+PRIORITY\s+CHOSEN\s+REASON$/m);
    assert.match(table.stdout, /^hypervisor\s+/m);
    assert.match(table.stdout, /^chosen: \S+ \(quiesce \w+\)$/m);
    const answer = await json<{
      chosen: string | null;
      explanation: Array<{ strategy: string; priority: string; reason: string; chosen: boolean }>;
    }>(['vm-snapshots', 'explain', '--vm', vm.id, '--memory', '--quiesce', 'none']);
    assert.ok(answer.explanation.length >= 2, 'every strategy answers');
    assert.ok(
      answer.explanation.every((e) => e.reason.length > 0),
      'each with its reason',
    );
    assert.equal(answer.explanation.filter((e) => e.chosen).length, answer.chosen ? 1 : 0);
    const wrong = await strata(['vm-snapshots', 'explain', '--vm', vm.id, '--operation', 'bogus']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^error INVALID_ARGUMENT/m);
  });

  void test('pools, offerings and templates are created and listed with sizes people read', async () => {
    const pool = await json<{ id: string; capacityBytes: number; capacityIops: number }>([
      'pools',
      'create',
      '--name',
      `pool-${suffix}`,
      '--zone',
      zoneId,
      '--provider',
      'qcow2',
      '--url',
      `file://${join(dir, 'pool')}`,
      '--capacity',
      '10G',
      '--capacity-iops',
      '5000',
    ]);
    assert.equal(pool.capacityBytes, 10 * 1024 ** 3);
    assert.equal(pool.capacityIops, 5000);
    const pools = await strata(['pools', 'list']);
    assert.match(pools.stdout, new RegExp(`pool-${suffix}\\s+qcow2\\s+zone\\s+Up\\s+false\\s+10 GiB`));
    const off = await json<{ qos: { minIops: number; maxIops: number } }>([
      'offerings',
      'create',
      '--name',
      `gold-${suffix}`,
      '--size',
      '1G',
      '--min-iops',
      '100',
      '--max-iops',
      '400',
    ]);
    assert.deepEqual([off.qos.minIops, off.qos.maxIops], [100, 400]);
    // a template file must exist under an allowed directory (default DATA_DIR/templates)
    const tplPath = join(dir, 'server', 'templates', 'tiny.qcow2');
    await mkdir(dirname(tplPath), { recursive: true });
    await writeFile(tplPath, '');
    const tpl = await json<{ sizeBytes: number }>([
      'templates',
      'create',
      '--name',
      `tiny-${suffix}`,
      '--path',
      tplPath,
      '--size',
      '64M',
    ]);
    assert.equal(tpl.sizeBytes, 64 * 1024 ** 2);
    const tpls = await strata(['templates', 'list']);
    assert.match(tpls.stdout, new RegExp(`tiny-${suffix}\\s+qcow2\\s+64 MiB`));
  });

  void test("a volume's life through jobs: create, resize, QoS, delete; --no-wait answers with the job", async () => {
    const pools = await json<{ items: Array<{ id: string }> }>(['pools', 'list', '--name', `pool-${suffix}`]);
    const poolId = pools.items[0]?.id ?? '';
    const name = `data "${suffix}" <&> $HOME`;
    const created = await strata([
      'volumes',
      'create',
      '--name',
      name,
      '--pool',
      poolId,
      '--size',
      '1G',
      '--min-iops',
      '100',
      '--max-iops',
      '200',
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^state\s+Ready$/m);
    assert.match(created.stderr, /volume\.create \[[^\]]*\] 100% Succeeded/);
    const id = /^id\s+(\S+)$/m.exec(created.stdout)?.[1] ?? '';
    assert.ok(id, created.stdout);
    const resized = await json<{ sizeBytes: number }>(['volumes', 'resize', id, '--size', '2G']);
    assert.equal(resized.sizeBytes, 2 * 1024 ** 3);
    // on no VM: no samples, and why
    const iops = await strata(['volumes', 'iops', id]);
    assert.equal(iops.code, 0, iops.stderr);
    assert.match(iops.stdout, /QoS min\/max\/burst: 100\/200\/\d+; no samples: the volume is not attached/);
    const iopsJson = await json<{ points: unknown[]; reason: string }>(['volumes', 'iops', id]);
    assert.deepEqual(iopsJson.points, []);
    const qos = await json<{ qos: { minIops: number; maxIops: number } }>([
      'volumes',
      'qos',
      id,
      '--min-iops',
      '150',
      '--max-iops',
      '300',
    ]);
    assert.deepEqual([qos.qos.minIops, qos.qos.maxIops], [150, 300]);
    const listed = await strata(['volumes', 'list', '--pool', poolId]);
    assert.ok(
      listed.stdout
        .split('\n')
        .some((l) => l.startsWith(id) && l.includes(name) && l.includes('2 GiB') && l.includes('150/300/')),
      listed.stdout,
    );
    const queued = await strata(['--no-wait', 'volumes', 'delete', id]);
    assert.equal(queued.code, 0, queued.stderr);
    assert.match(queued.stdout, /^ID\s+TYPE\s+STATE\s+PROGRESS/m);
    const jobId = /^(\S+)\s+volume\.delete\s/m.exec(queued.stdout)?.[1] ?? '';
    const waited = await strata(['--no-progress', 'jobs', 'wait', jobId]);
    assert.match(waited.stdout, /^state\s+Succeeded$/m);
    const gone = await json<{ state: string }>(['volumes', 'get', id]);
    assert.equal(gone.state, 'Destroyed');
  });

  void test('a group snapshot of two volumes, then a volume from one of its snapshots', async () => {
    const pools = await json<{ items: Array<{ id: string }> }>(['pools', 'list', '--name', `pool-${suffix}`]);
    const poolId = pools.items[0]?.id ?? '';
    const ids: string[] = [];
    for (const i of [1, 2])
      ids.push(
        (
          await json<{ id: string }>([
            'volumes',
            'create',
            '--name',
            `g${i} ${suffix}`,
            '--pool',
            poolId,
            '--size',
            '64M',
          ])
        ).id,
      );
    const table = await strata([
      '--no-progress',
      'snapshots',
      'group',
      '--name',
      `grp "${suffix}" <&>`,
      ...ids,
    ]);
    assert.equal(table.code, 0, table.stderr);
    for (const v of ids)
      assert.ok(
        table.stdout
          .split('\n')
          .some((l) => l.includes(v) && l.includes('Ready') && l.includes(`grp "${suffix}" <&>`)),
        table.stdout,
      );
    const rows = await json<Array<{ id: string; volumeId: string; state: string }>>([
      'snapshots',
      'group',
      '--name',
      `grp2 ${suffix}`,
      ...ids,
    ]);
    assert.deepEqual(rows.map((r) => r.volumeId).sort(), [...ids].sort());
    assert.ok(rows.every((r) => r.state === 'Ready'));
    const made = await json<{ state: string; sizeBytes: number; poolId: string }>([
      'volumes',
      'create',
      '--name',
      `from ${suffix}`,
      '--from-snapshot',
      rows[0]!.id,
    ]);
    assert.deepEqual([made.state, made.sizeBytes, made.poolId], ['Ready', 64 * 1024 ** 2, poolId]);
    // its size, from the qcow2 pool's driver on the storage node (qemu-img measure, over the agent)
    const sized = await json<{ id: string; size: number | null; sizeNote: string }>([
      'snapshots',
      'size',
      rows[1]!.id,
    ]);
    assert.equal(sized.id, rows[1]!.id);
    assert.equal(typeof sized.size, 'number', sized.sizeNote);
    assert.ok(
      sized.size! > 0 && sized.size! < 64 * 1024 ** 2,
      `nothing written: metadata only, ${sized.size}`,
    );
    assert.match(sized.sizeNote, /qemu-img measure/);
    const text = await strata(['snapshots', 'size', rows[1]!.id]);
    assert.match(text.stdout, /^\d+(\.\d)? KiB \(bytes its content takes as a qcow2 image/);
    // a deleted snapshot leaves the list unless asked for with --all or by its state
    const gone = rows[1]!;
    assert.equal((await strata(['snapshots', 'delete', gone.id])).code, 0);
    const listed = async (...extra: string[]) =>
      (
        await json<{ items: Array<{ id: string; state: string }> }>([
          'snapshots',
          'list',
          '--volume',
          gone.volumeId,
          ...extra,
        ])
      ).items
        .filter((s) => s.id === gone.id)
        .map((s) => s.state);
    assert.deepEqual(await listed(), []);
    assert.deepEqual(await listed('--all'), ['Deleted']);
    assert.deepEqual(await listed('--state', 'Deleted'), ['Deleted']);
    const goneSize = await json<{ size: number | null; sizeNote: string }>(['snapshots', 'size', gone.id]);
    assert.deepEqual(goneSize, { id: gone.id, size: null, sizeNote: 'the snapshot is Deleted' });
    const none = await strata(['snapshots', 'group', '--name', 'x', `vol-missing-${suffix}`]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^error NOT_FOUND/m);
  });

  void test('errors print their registry code, the HTTP status and a hint, and exit 1', async () => {
    const r = await strata(['volumes', 'get', `vol-missing-${suffix}`]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`^error NOT_FOUND \\(HTTP 404\\): volume vol-missing-${suffix} not found$`, 'm'),
    );
    assert.match(r.stderr, /^hint: Check the id/m);
    const j = await strata(['-o', 'json', 'volumes', 'get', `vol-missing-${suffix}`]);
    assert.equal((JSON.parse(j.stderr) as { error: { code: string } }).error.code, 'NOT_FOUND');
    const down = await strata(['--endpoint', 'http://127.0.0.1:9', 'zones', 'list']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /^error CONNECTION_FAILED: cannot reach http:\/\/127\.0\.0\.1:9/m);
    // No pool and no size: placement needs the size to choose a pool.
    const usage = await strata(['volumes', 'create', '--name', 'x']);
    assert.equal(usage.code, 1);
    assert.match(
      usage.stderr,
      /^error INVALID_ARGUMENT \(HTTP 400\): Invalid sizeBytes: must be a whole number of bytes/m,
    );
  });
});

void describe('jobs', () => {
  void test('jobs wait draws the progress of a running job and ends with its final state', async () => {
    const engine = server.engine;
    assert.ok(engine, 'the server runs a job engine');
    const job = await engine.submit(
      'test.cli-progress',
      { gated: true },
      { accountId: server.bootstrap?.accountId ?? 'none' },
    );
    const r = await strataReleasingWhen(['jobs', 'wait', job.id], /Running part 1 of 5/);
    assert.equal(r.code, 0, r.stderr);
    // Not a terminal here, so the bar is redrawn as lines: it must have moved through the parts.
    assert.match(r.stderr, /test\.cli-progress \[[^\]]*\] \d+% Running part [1-5] of 5/);
    assert.match(r.stderr, /100% Succeeded/);
    assert.match(r.stdout, /^state\s+Succeeded$/m);
  });

  void test('jobs list shows it; --no-progress waits silently', async () => {
    const job = await server.engine.submit(
      'test.cli-progress',
      {},
      { accountId: server.bootstrap?.accountId ?? 'none' },
    );
    const r = await strata(['--no-progress', 'jobs', 'wait', job.id]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const list = await strata(['jobs', 'list', '--type', 'test.cli-progress']);
    assert.ok(list.stdout.includes(job.id), list.stdout);
  });
});

void describe('jobs cancel', () => {
  void test('a queued job ends at once; a running one stops at its next step', async () => {
    const opts = { accountId: server.bootstrap?.accountId ?? 'none', lockKey: `cli-cancel-${suffix}` };
    const running = await server.engine.submit('test.cli-cancel', {}, opts);
    const queued = await server.engine.submit('test.cli-cancel', {}, opts);
    try {
      while ((await server.engine.get(running.id)).state !== 'Running')
        await new Promise((r) => setTimeout(r, 50));
      const q = await strata(['-o', 'json', 'jobs', 'cancel', queued.id]);
      assert.equal(q.code, 0, q.stderr);
      const qj = JSON.parse(q.stdout) as { state: string; error: { code: string } };
      assert.deepEqual([qj.state, qj.error.code], ['Failed', 'JOB_CANCELLED']);
      const r = await strata(['-o', 'json', 'jobs', 'cancel', running.id]);
      assert.equal(r.code, 0, r.stderr);
      const rj = JSON.parse(r.stdout) as { state: string; cancelRequestedAt: string | null };
      assert.equal(rj.state, 'Running');
      assert.ok(rj.cancelRequestedAt);
      releaseCancel();
      const ended = await server.engine.wait(running.id, 60_000);
      assert.deepEqual([ended.state, ended.error?.code], ['Failed', 'JOB_CANCELLED']);
      assert.equal(cancelAfterRan, false, 'the step after the boundary never ran');
      const again = await strata(['jobs', 'cancel', running.id]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /ILLEGAL_TRANSITION/);
    } finally {
      releaseCancel(); // a failed check must not leave the job holding the server open
    }
  });
});

void describe('failed jobs', () => {
  void test("a failed job exits 1 and prints the job's own error code and a hint", async () => {
    const job = await server.engine.submit(
      'test.cli-fails',
      {},
      { accountId: server.bootstrap?.accountId ?? 'none' },
    );
    const r = await strata(['--no-progress', 'jobs', 'wait', job.id]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`^error STORAGE_IOPS_EXHAUSTED: job ${job.id} \\(test\\.cli-fails\\) failed: `, 'm'),
    );
    assert.match(r.stderr, /^hint: /m);
  });
});

void describe('completion', () => {
  void test('strata completion bash completes commands, subcommands and options in a real bash', async () => {
    const script = (await strata(['completion', 'bash'])).stdout;
    const probe = (line: string) =>
      new Promise<string>((resolve, reject) => {
        const words = line.split(' ');
        const prog = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _strata; printf '%s\\n' "\${COMPREPLY[@]}"`;
        execFile('bash', ['-c', prog], (err, out) =>
          err ? reject(err instanceof Error ? err : new Error('process failed')) : resolve(out),
        );
      });
    assert.match(await probe('strata vol'), /^volumes$/m);
    assert.deepEqual((await probe('strata volumes at')).trim(), 'attach');
    assert.match(await probe('strata volumes create --mi'), /^--min-iops$/m);
    assert.match(await probe('strata vm-snapshots create --q'), /^--quiesce$/m);
  });
});

void describe('tags', () => {
  void test('display names and storage tags: set, shown, cleared; bad tags refused with a coded error', async () => {
    const boot = server.bootstrap;
    assert.ok(boot, 'a fresh database bootstraps an admin');
    const vm = await server.services.vms.create(SYSTEM_ACTOR, {
      name: `named-${suffix}`,
      accountId: boot.accountId,
    });
    const display = `web "one" <&> $HOME`;
    const named = await json<{ displayName: string | null }>(['vms', 'set-display-name', vm.id, display]);
    assert.equal(named.displayName, display);
    const cleared = await json<{ displayName: string | null }>(['vms', 'set-display-name', vm.id, '']);
    assert.equal(cleared.displayName, null);
    const zone = await server.services.zones.create(SYSTEM_ACTOR, { name: `tags-zone-${suffix}` });
    const pool = await json<{ id: string; storageTags: string[] }>([
      'pools',
      'create',
      '--name',
      `tagged-${suffix}`,
      '--zone',
      zone.id,
      '--provider',
      'qcow2',
      '--url',
      `file://${join(dir, 'tagged')}`,
      '--capacity',
      '1G',
      '--storage-tag',
      'ssd,gold',
    ]);
    assert.deepEqual(pool.storageTags, ['gold', 'ssd']);
    const retagged = await json<{ storageTags: string[] }>(['pools', 'set-storage-tags', pool.id, 'nvme']);
    assert.deepEqual(retagged.storageTags, ['nvme']);
    const off = await json<{ id: string; storageTags: string[] }>([
      'offerings',
      'create',
      '--name',
      `tagged-${suffix}`,
      '--size',
      '1G',
      '--storage-tag',
      'nvme',
    ]);
    assert.deepEqual(off.storageTags, ['nvme']);
    const bad = await strata(['offerings', 'set-storage-tags', off.id, 'x'.repeat(65)]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /INVALID_ARGUMENT|VALIDATION/);
  });

  void test('tags add, list and remove on a VM, through /v1/tags', async () => {
    const boot = server.bootstrap;
    assert.ok(boot, 'a fresh database bootstraps an admin');
    const vm = await server.services.vms.create(SYSTEM_ACTOR, {
      name: `tagged-${suffix}`,
      accountId: boot.accountId,
    });
    const added = await strata([
      'tags',
      'add',
      'vm',
      vm.id,
      '--tag',
      'env=prod "eu" <1>',
      '--tag',
      'team=db=ops',
    ]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /env\s+prod "eu" <1>/);
    const listed = await json<{ items: Array<{ key: string; value: string }> }>([
      'tags',
      'list',
      '--resource',
      vm.id,
    ]);
    assert.deepEqual(
      listed.items.map((t) => [t.key, t.value]),
      [
        ['env', 'prod "eu" <1>'],
        ['team', 'db=ops'],
      ],
    );
    assert.deepEqual(await json<{ removed: number }>(['tags', 'remove', 'vm', vm.id, '--tag', 'env']), {
      removed: 1,
    });
    const left = await json<{ items: Array<{ key: string }> }>([
      'tags',
      'list',
      '--type',
      'vm',
      '--resource',
      vm.id,
    ]);
    assert.deepEqual(
      left.items.map((t) => t.key),
      ['team'],
    );
    const missing = await strata(['tags', 'add', 'vm', 'vm-nothere', '--tag', 'a=b']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /NOT_FOUND/);
  });
});
