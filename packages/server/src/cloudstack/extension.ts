import type { ServerContext, ServerExtension } from '../server.js';
import { cloudStackServices } from './adapter.js';
import { register } from './plugin.js';

export interface CloudStackOptions {
  /** Largest accepted distance of `expires` into the future (default one day, as cs's 10 minutes fit easily). */
  readonly maxValidityMs?: number;
}

/**
 * CloudStack's API as a server extension: startServer(config, { extensions: [cloudStackExtension()] }).
 * Signatures go through the server's one Authenticator (auth/), without its replay memory:
 * CloudStack has none, and its clients (cs, CloudMonkey) sign `expires` to the second, so two
 * polls of one job within a second are byte-identical requests. v3's expiry bounds reuse.
 */
export function cloudStackExtension(options: CloudStackOptions = {}): ServerExtension {
  return {
    name: 'cloudstack',
    routes: (app, ctx: ServerContext) =>
      register(app, {
        authenticate: (params) =>
          ctx.authenticator.authenticateSigned(params, {
            replayProtection: false,
            maxValidityMs: options.maxValidityMs ?? 24 * 3600_000,
          }),
        services: cloudStackServices(ctx.services),
      }),
  };
}
