import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { ServerExtension } from '../server.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/**
 * The console may run only its own script and talk only to this origin: an injected script could
 * read the session token, so none may run (docs/security.md).
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** Where the console's build puts its files, beside this package in the workspace. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../console/dist/public', import.meta.url));

interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
}

/** Every file under `dir` by its URL path; read once at start, so a request never touches the disk. */
async function readTree(dir: string): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    const type = TYPES[extname(e.name)];
    if (!type) continue;
    const full = join(e.parentPath, e.name);
    const urlPath = '/' + relative(dir, full).split(sep).join('/');
    files.set(urlPath, { body: await readFile(full), type });
  }
  return files;
}

/**
 * Serves the built console at `/`: one exact route per file found at start. No wildcard route
 * means no path from a request is ever joined to a directory (no traversal), and the API's own
 * unknown paths keep their coded 404.
 */
export async function serveConsole(app: FastifyInstance, dir: string): Promise<number> {
  const files = await readTree(dir).catch(() => new Map<string, StaticFile>());
  const index = files.get('/index.html');
  if (!index) return 0;
  const send = (f: StaticFile) => ({
    config: { public: true },
    schema: { hide: true },
    handler: async (_req: unknown, reply: import('fastify').FastifyReply) =>
      reply.headers(SECURITY_HEADERS).type(f.type).send(f.body),
  });
  app.route({ method: 'GET', url: '/', ...send(index) });
  for (const [path, f] of files) app.route({ method: 'GET', url: path, ...send(f) });
  return files.size;
}

/** The console as a server part: STRATA_CONSOLE_DIR overrides where its files are. */
export function consoleExtension(
  dir = process.env['STRATA_CONSOLE_DIR'] ?? DEFAULT_CONSOLE_DIR,
): ServerExtension {
  return {
    name: 'console',
    async routes(app, ctx) {
      const n = await serveConsole(app, dir);
      if (n === 0)
        ctx.logger.warn({ dir }, 'no console files found: run npm run build to serve the console at /');
      else ctx.logger.info({ dir, files: n }, 'serving the console at /');
    },
  };
}
