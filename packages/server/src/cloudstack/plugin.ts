import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { StrataError, toStrataError } from '@strata/core';
import { retryAfterOf } from '../api/errors.js';
import { isStateChanging, responseNameOf, type Command, type CommandContext } from './command.js';
import { commandTable } from './commands/index.js';
import type { CloudStackDeps } from './deps.js';
import { csErrorBody, toCsError } from './errors.js';
import { parseParams } from './params.js';
import { contentType, serialize, type CsObject, type ResponseFormat } from './serialize.js';

export const CLOUDSTACK_PATH = '/client/api';
const DEFAULT_VERSION = '4.19.0.0-strata';

/** First value of each parameter, decoded as a servlet would ('+' is a space), as CloudStack reads them. */
function firstValues(search: string, into: Record<string, string>): void {
  for (const [k, v] of new URLSearchParams(search)) if (!(k in into)) into[k] = v;
}

function requestParams(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  const url = req.raw.url ?? '';
  const q = url.indexOf('?');
  if (q >= 0) firstValues(url.slice(q + 1), out);
  if (typeof req.body === 'string') firstValues(req.body, out);
  return out;
}

function formatOf(params: Readonly<Record<string, string>>): ResponseFormat {
  const r = Object.entries(params).find(([k]) => k.toLowerCase() === 'response')?.[1];
  return r?.toLowerCase() === 'json' ? 'json' : 'xml';
}

async function dispatch(
  deps: CloudStackDeps,
  cmd: Command,
  params: Readonly<Record<string, string>>,
  http: { req: FastifyRequest; reply: FastifyReply },
): Promise<CsObject> {
  const check = () =>
    deps.authenticate(params, { stateChanging: isStateChanging(cmd), remoteAddress: http.req.ip });
  const caller = await (deps.limit ? deps.limit(http.req, http.reply, check) : check());
  const parsed = parseParams(cmd.name, cmd.params, params);
  const ctx: CommandContext = {
    caller,
    params: parsed,
    services: deps.services,
    version: deps.version ?? DEFAULT_VERSION,
  };
  const result = await cmd.handler(ctx);
  if (result.kind === 'body') return result.body;
  if (result.started.jobId === null) return { id: result.started.resourceId, success: true };
  return { id: result.started.resourceId, jobid: result.started.jobId };
}

/**
 * Serves CloudStack's API at /client/api (GET and POST): one command table, CloudStack's
 * signatures, answer shapes and error codes, over the same services as the REST API.
 */
export async function register(app: FastifyInstance, deps: CloudStackDeps): Promise<void> {
  await app.register((scope, _opts, done) => {
    // Form bodies stay raw here: parameters are read with servlet rules, not a JSON body parser.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_req, text, done) => done(null, text),
    );
    const version = deps.version ?? DEFAULT_VERSION;
    const handle = async (req: FastifyRequest, reply: FastifyReply): Promise<string> => {
      const params = requestParams(req);
      const format = formatOf(params);
      const name = Object.entries(params).find(([k]) => k.toLowerCase() === 'command')?.[1];
      const cmd = name === undefined ? undefined : commandTable.get(name);
      let responseName = 'errorresponse';
      let status = 200;
      let payload: CsObject;
      try {
        if (!cmd) throw new StrataError('CLOUDSTACK_UNKNOWN_COMMAND', { command: name ?? '' });
        responseName = responseNameOf(cmd);
        payload = await dispatch(deps, cmd, params, { req, reply });
      } catch (err) {
        const e = toCsError(err);
        if (e.errorcode === 530) req.log.error({ err, command: name }, 'cloudstack command failed');
        // CloudStack answers authentication failures under errorresponse, naming no command.
        if (e.errorcode === 401) responseName = 'errorresponse';
        status = e.errorcode;
        payload = csErrorBody(e);
        const retryAfter = retryAfterOf(toStrataError(err));
        if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
      }
      reply.code(status).header('content-type', contentType(format));
      return serialize(format, responseName, payload, version);
    };
    // `public`: the REST API's signature check (method, path and body hash) does not apply here;
    // CloudStack's own check runs in dispatch, after the command is known, as CloudStack orders it,
    // and spends from the rate limits there (`ownLimits`: per API key, not per address).
    const opts = { config: { public: true, ownLimits: true }, schema: { hide: true } };
    scope.get(CLOUDSTACK_PATH, opts, handle);
    scope.post(CLOUDSTACK_PATH, opts, handle);
    done();
  });
}
