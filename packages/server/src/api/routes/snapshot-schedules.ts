import type { FastifyInstance } from 'fastify';
import type { ScheduleChange, ScheduleInput, ScheduleKind } from '../../schedules/service.js';
import type { ApiDeps } from '../context.js';
import { actorOf } from '../hooks.js';
import { spec } from '../route-kit.js';
import { bool, entity, id, idParams, int, nstr, obj, query, str } from '../schemas.js';

type IdReq = { Params: { id: string } };
const kind = { type: 'string', enum: ['volume', 'vm'] };
const intervalType = { type: 'string', enum: ['HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY'] };
const schedule = { type: 'string', minLength: 1, maxLength: 16 };
const timezone = { type: 'string', minLength: 1, maxLength: 64 };
const maxSnaps = { type: 'integer', minimum: 1, maximum: 1000 };
const scheduleEntity = entity('SnapshotSchedule', {
  id: str,
  accountId: str,
  kind: str,
  targetId: str,
  intervalType: str,
  schedule: str,
  timezone: str,
  maxSnaps: int,
  enabled: bool,
  nextRunAt: str,
  lastRunAt: nstr,
  lastError: nstr,
  createdAt: str,
});

/** Recurring volume snapshots and VM snapshots, with how many to keep. */
export function snapshotScheduleRoutes(app: FastifyInstance, { services }: ApiDeps): void {
  const schedules = services.snapshotSchedules;
  app.get<{ Querystring: { kind?: ScheduleKind; targetId?: string } }>(
    '/v1/snapshot-schedules',
    {
      schema: spec('snapshot-schedules', 'List snapshot schedules', {
        querystring: query({ kind, targetId: id }),
        response: { 200: obj({ items: { type: 'array', items: scheduleEntity } }, ['items']) },
      }),
    },
    async (req) => ({ items: await schedules.list(actorOf(req), req.query) }),
  );
  app.post<{ Body: ScheduleInput }>(
    '/v1/snapshot-schedules',
    {
      schema: spec(
        'snapshot-schedules',
        'Snapshot a volume or a VM on a schedule (a second schedule of the same interval replaces the first)',
        {
          querystring: query(),
          body: obj({ kind, targetId: id, intervalType, schedule, timezone, maxSnaps }, [
            'kind',
            'targetId',
            'intervalType',
            'schedule',
            'maxSnaps',
          ]),
          response: { 201: scheduleEntity },
        },
      ),
    },
    async (req, reply) => reply.code(201).send(await schedules.create(actorOf(req), req.body)),
  );
  app.get<IdReq>(
    '/v1/snapshot-schedules/:id',
    {
      schema: spec('snapshot-schedules', 'Read a snapshot schedule', {
        params: idParams,
        querystring: query(),
        response: { 200: scheduleEntity },
      }),
    },
    async (req) => schedules.get(actorOf(req), req.params.id),
  );
  app.patch<IdReq & { Body: ScheduleChange }>(
    '/v1/snapshot-schedules/:id',
    {
      schema: spec('snapshot-schedules', 'Change the slot, time zone, retention, or pause a schedule', {
        params: idParams,
        querystring: query(),
        body: obj({ schedule, timezone, maxSnaps, enabled: bool }),
        response: { 200: scheduleEntity },
      }),
    },
    async (req) => schedules.update(actorOf(req), req.params.id, req.body),
  );
  app.delete<IdReq>(
    '/v1/snapshot-schedules/:id',
    {
      schema: spec('snapshot-schedules', 'Delete a schedule (the snapshots it made stay)', {
        params: idParams,
        querystring: query(),
        response: { 204: { type: 'null' } },
      }),
    },
    async (req, reply) => {
      await schedules.delete(actorOf(req), [req.params.id]);
      return reply.code(204).send();
    },
  );
}
