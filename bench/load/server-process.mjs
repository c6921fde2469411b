// The server under load, in its own process (as in production: the load tool must not share its
// event loop). Runs jobs, with the two volume job types made of one database step each (the
// benchmark measures the API, the database and the job engine, not a storage backend). Answers
// one JSON line with its URL and admin key, then the event-loop delay on `stats`, and quits on `quit`.
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { startServer } from '@strata/server';

const [databaseUrl, dataDir] = process.argv.slice(2);
if (!databaseUrl || !dataDir) {
  process.stderr.write('usage: server-process.mjs <databaseUrl> <dataDir>\n');
  process.exit(2);
}

/** A job type whose only step moves the volume to `state` inside the job's own transaction. */
const volumeJob = (type, state) => ({
  type,
  steps: [
    {
      name: 'record',
      transactional: true,
      run: async (ctx, input) => {
        await ctx.tx.query('UPDATE volumes SET state = $2 WHERE id = $1', [input.volumeId, state]);
        return null;
      },
    },
  ],
});

/**
 * Time from Node's 'request' event (headers read) to the answer, outside Fastify, and the most
 * requests inside the server at once: a wait that the client sees and these do not is a wait
 * before the server read the request.
 */
const raw = { max: 0, open: 0, maxOpen: 0 };
/** Time inside the server per route (ids folded), for the README's breakdown. */
const byRoute = new Map();
const routeOf = (url) => url.split('?')[0].replace(/\/[^/]*-[^/]*$/, '/:id');
function traceRequests(http) {
  http.on('request', (req, res) => {
    const t0 = performance.now();
    raw.maxOpen = Math.max(raw.maxOpen, ++raw.open);
    res.on('close', () => {
      raw.open--;
      const d = performance.now() - t0;
      raw.max = Math.max(raw.max, d);
      const key = `${req.method} ${routeOf(req.url)}`;
      if (!byRoute.has(key)) byRoute.set(key, []);
      byRoute.get(key).push(d);
    });
  });
}

const server = await startServer(
  {
    dataDir,
    databaseUrl,
    host: '127.0.0.1',
    port: 0,
    logLevel: 'warn',
    jobs: true,
    // One key drives the load: its budget is set above what it can spend, so the rate-limit
    // plugin still runs on every request without refusing any.
    limits: {
      requestsPerMinute: 10_000_000,
      anonymousPerMinute: 10_000_000,
      jobWaits: 0,
      jobWaitsPerUser: 0,
    },
  },
  {
    extensions: [
      {
        name: 'bench-jobs',
        start(ctx, app) {
          traceRequests(app.server);
          ctx.engine.register(volumeJob('volume.create', 'Ready'));
          ctx.engine.register(volumeJob('volume.delete', 'Destroyed'));
          return Promise.resolve();
        },
      },
    ],
  },
);
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
process.stdout.write(
  JSON.stringify({
    url: server.url,
    apiKey: server.bootstrap?.apiKey,
    secretKey: server.bootstrap?.secretKey,
  }) + '\n',
);

function routeStats() {
  const out = {};
  for (const [key, list] of byRoute) {
    const sorted = [...list].sort((a, b) => a - b);
    const at = (p) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]);
    out[key] = { n: sorted.length, p50: at(0.5), p99: at(0.99) };
  }
  return out;
}
const ms = (ns) => Math.round(ns / 1e4) / 100;
createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'reset') {
    loop.reset();
    Object.assign(raw, { max: 0, maxOpen: raw.open });
    byRoute.clear();
  }
  if (cmd === 'stats')
    process.stdout.write(
      JSON.stringify({
        raw,
        routes: routeStats(),
        loopP50Ms: ms(loop.percentile(50)),
        loopP99Ms: ms(loop.percentile(99)),
        loopMaxMs: ms(loop.max),
      }) + '\n',
    );
  if (cmd === 'quit') void server.close().then(() => process.exit(0));
});
