import { CHANNEL_PATH } from '@strata/core';
import { AgentHub, fencedHostReadmission, vmReconciler } from '../agents/index.js';
import { actorOf } from '../api/hooks.js';
import { spec } from '../api/route-kit.js';
import { idParams, obj, query, str } from '../api/schemas.js';
import type { ServerExtension } from '../server.js';
import { requireAdmin } from '../services/actor.js';
import { agentTemplateFiles } from '../services/template-paths.js';

export interface AgentsOptions {
  /** Channel listen address and port (default: the API's host, port 8843; 0 picks a free one). */
  readonly host?: string;
  readonly port?: number;
  readonly heartbeatMs?: number;
}

/** The agent hub, once started: orchestration sends its commands through it. */
export interface HubHandle {
  hub(): AgentHub;
}

/**
 * Runs the agent channel (TLS WebSocket) in the server, and adds the admin route that issues a
 * one-time registration token for a new host together with what its agent must pin.
 */
export function agentsExtension(options: AgentsOptions = {}): ServerExtension & HubHandle {
  let started: AgentHub | null = null;
  const hub = (): AgentHub => {
    if (!started) throw new Error('the agent hub is not started yet');
    return started;
  };
  return {
    name: 'agents',
    hub,
    routes(app) {
      app.post<{ Body: { clusterId: string; ttlSeconds?: number } }>(
        '/v1/hosts/registration-tokens',
        {
          schema: spec('hosts', 'Issue a one-time registration token for a new host agent (admin)', {
            querystring: query(),
            body: obj({ clusterId: str, ttlSeconds: { type: 'integer', minimum: 60, maximum: 7 * 86400 } }, [
              'clusterId',
            ]),
            response: {
              201: obj(
                { token: str, fingerprint: str, channelPath: str, channelPort: { type: 'integer' } },
                [],
                { additionalProperties: true },
              ),
            },
          }),
        },
        async (req, reply) => {
          requireAdmin(actorOf(req), 'Issuing a host registration token');
          const issued = await hub().issueRegistrationToken(
            req.body.clusterId,
            (req.body.ttlSeconds ?? 3600) * 1000,
          );
          return reply.code(201).send({ ...issued, channelPath: CHANNEL_PATH, channelPort: hub().port });
        },
      );
      app.post<{ Params: { id: string }; Body: { ttlSeconds?: number } }>(
        '/v1/hosts/:id/registration-tokens',
        {
          schema: spec(
            'hosts',
            'Issue a one-time token that re-registers this host under its name, for a reinstalled machine (admin)',
            {
              params: idParams,
              querystring: query(),
              body: obj({ ttlSeconds: { type: 'integer', minimum: 60, maximum: 7 * 86400 } }),
              response: {
                201: obj(
                  {
                    token: str,
                    hostId: str,
                    fingerprint: str,
                    channelPath: str,
                    channelPort: { type: 'integer' },
                  },
                  [],
                  { additionalProperties: true },
                ),
              },
            },
          ),
        },
        async (req, reply) => {
          requireAdmin(actorOf(req), 'Issuing a host re-registration token');
          const issued = await hub().issueHostRegistrationToken(
            req.params.id,
            (req.body?.ttlSeconds ?? 3600) * 1000,
          );
          return reply.code(201).send({ ...issued, channelPath: CHANNEL_PATH, channelPort: hub().port });
        },
      );
    },
    async start(ctx) {
      started = await AgentHub.start({
        db: ctx.db,
        dataDir: ctx.config.dataDir,
        host: options.host ?? ctx.config.host,
        port: options.port ?? 8843,
        ...(options.heartbeatMs !== undefined && { heartbeatMs: options.heartbeatMs }),
        logger: { info: (o, m) => ctx.logger.info(o, m), warn: (o, m) => ctx.logger.warn(o, m) },
      });
      const h = started;
      // Template files are checked (and sized) by an agent that has them, never by the server.
      ctx.services.templates.useFiles(agentTemplateFiles(h, () => h.connectedHosts()));
      h.onConnection(() => ctx.metrics.setConnectedAgents(h.connectedCount()));
      // On reconnect, VM rows follow what the host really runs (a Running VM whose domain is gone is Stopped).
      h.onReconcile(vmReconciler(ctx.services.vms));
      // A fenced host coming back: its stale domains are destroyed, never restarted, then it is Up.
      h.onReconcile(
        fencedHostReadmission({ db: ctx.db, events: ctx.services.events, agent: h }, (hostId, what) =>
          ctx.logger.warn({ hostId }, `fenced host: ${what}`),
        ),
      );
      return { close: () => h.stop() };
    },
  };
}
