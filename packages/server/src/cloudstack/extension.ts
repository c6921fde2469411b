import type { ServerContext, ServerExtension } from '../server.js';
import { cloudStackServices } from './adapter.js';
import { register } from './plugin.js';

export interface CloudStackOptions {
  /** Largest accepted distance of `expires` into the future (default one day, as cs's 10 minutes fit easily). */
  readonly maxValidityMs?: number;
}

/**
 * CloudStack's API as a server extension: startServer(config, { extensions: [cloudStackExtension()] }).
 * Signatures go through the server's one Authenticator (auth/). Reads (list*, query*) keep
 * CloudStack's rules: no replay memory (cs and CloudMonkey sign `expires` to the second, so two
 * polls of one job within a second are byte-identical) and `expires` optional. A state-changing
 * command needs signatureVersion=3 and `expires` (unless the server's
 * `cloudstackAllowUnexpiring` setting relaxes it for old clients) and its signature is refused
 * the second time (docs/security.md).
 */
export function cloudStackExtension(options: CloudStackOptions = {}): ServerExtension {
  return {
    name: 'cloudstack',
    routes: (app, ctx: ServerContext) =>
      register(app, {
        authenticate: (params, { stateChanging, remoteAddress }) =>
          ctx.authenticator.authenticateSigned(params, {
            door: 'cloudstack-signature',
            remoteAddress,
            replayProtection: stateChanging,
            requireExpires: stateChanging && ctx.config.cloudstackAllowUnexpiring !== true,
            maxValidityMs: options.maxValidityMs ?? 24 * 3600_000,
          }),
        limit: (req, reply, check) => ctx.limits.authenticate(req, reply, check),
        services: cloudStackServices(ctx.services, {
          rolesChanged: (accountId) => ctx.authenticator.forgetAccount(accountId),
        }),
      }),
  };
}
