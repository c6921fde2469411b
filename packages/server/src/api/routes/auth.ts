import type { FastifyInstance } from 'fastify';
import { ROLES, type Role } from '@strata/core';
import type { ApiDeps } from '../context.js';
import { actorOf } from '../hooks.js';
import { listArgs, spec } from '../route-kit.js';
import { id, listQuery, nstr, obj, pageOf, query, schemas, str, userProfile } from '../schemas.js';
import type { UserProfile } from '../../services/index.js';

const roleSchema = { type: 'string', enum: [...ROLES] };

/** Login, logout, who am I; accounts, users, their roles and API keys. */
export function authRoutes(app: FastifyInstance, { services, sessions, authenticator }: ApiDeps): void {
  const { accounts, apiKeys } = services;
  app.post<{ Body: { username: string; password: string } }>(
    '/v1/auth/login',
    {
      config: { public: true },
      schema: spec('auth', 'Log in with username and password; returns a bearer session token', {
        body: obj(
          {
            username: { type: 'string', minLength: 1, maxLength: 128 },
            password: { type: 'string', minLength: 1, maxLength: 1024 },
          },
          ['username', 'password'],
        ),
        response: {
          200: obj({ token: str, expiresAt: str, userId: str, accountId: str, role: str }, [
            'token',
            'expiresAt',
            'userId',
            'accountId',
            'role',
          ]),
        },
      }),
    },
    async (req) => sessions.login(req.body.username, req.body.password, req.ip),
  );
  app.post(
    '/v1/auth/logout',
    {
      schema: spec('auth', 'End the session of the bearer token', {
        querystring: query(),
        response: { 204: { type: 'null' } },
      }),
    },
    async (req, reply) => {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      if (m?.[1]) await sessions.logout(m[1]);
      return reply.code(204).send();
    },
  );
  app.get(
    '/v1/auth/whoami',
    {
      schema: spec('auth', 'The caller as the server sees it', {
        querystring: query(),
        response: {
          200: obj({ accountId: str, userId: nstr, role: str, via: str }, [
            'accountId',
            'userId',
            'role',
            'via',
          ]),
        },
      }),
    },
    (req) => Promise.resolve(actorOf(req)),
  );

  app.get<{ Querystring: { name?: string; role?: string } }>(
    '/v1/accounts',
    {
      schema: spec('accounts', 'List accounts (an admin sees all, a user its own)', {
        querystring: listQuery({ name: str, role: str }),
        response: { 200: pageOf(schemas.account) },
      }),
    },
    async (req) => accounts.list(actorOf(req), listArgs(req.query)),
  );
  app.post<{ Body: { name: string; role?: Role } }>(
    '/v1/accounts',
    {
      schema: spec('accounts', 'Create an account (admin)', {
        querystring: query(),
        body: obj({ name: { type: 'string' }, role: roleSchema }, ['name']),
        response: { 201: schemas.account },
      }),
    },
    async (req, reply) => reply.code(201).send(await accounts.create(actorOf(req), req.body)),
  );
  app.get<{ Params: { id: string } }>(
    '/v1/accounts/:id',
    {
      schema: spec('accounts', 'Read an account', {
        params: obj({ id }, ['id']),
        querystring: query(),
        response: { 200: schemas.account },
      }),
    },
    async (req) => accounts.get(actorOf(req), req.params.id),
  );
  app.post<{
    Params: { id: string };
    Body: { username: string; password?: string; role?: Role; profile?: Partial<UserProfile> };
  }>(
    '/v1/accounts/:id/users',
    {
      schema: spec('accounts', 'Add a user (console login) to an account (admin, or its account admin)', {
        params: obj({ id }, ['id']),
        querystring: query(),
        body: obj(
          {
            username: { type: 'string' },
            password: { type: 'string' },
            role: roleSchema,
            profile: userProfile,
          },
          ['username'],
        ),
        response: { 201: schemas.user },
      }),
    },
    async (req, reply) =>
      reply
        .code(201)
        .send(await accounts.createUser(actorOf(req), { accountId: req.params.id, ...req.body })),
  );
  app.get<{ Querystring: { accountId?: string; role?: string; username?: string } }>(
    '/v1/users',
    {
      schema: spec('accounts', 'List users (an account admin its account, a user itself)', {
        querystring: listQuery({ accountId: str, role: roleSchema, username: str }),
        response: { 200: pageOf(schemas.user) },
      }),
    },
    async (req) => accounts.listUsers(actorOf(req), listArgs(req.query)),
  );
  app.get<{ Params: { id: string } }>(
    '/v1/users/:id',
    {
      schema: spec('accounts', 'Read a user', {
        params: obj({ id }, ['id']),
        querystring: query(),
        response: { 200: schemas.user },
      }),
    },
    async (req) => accounts.getUser(actorOf(req), req.params.id),
  );
  app.patch<{ Params: { id: string }; Body: Partial<UserProfile> }>(
    '/v1/users/:id',
    {
      schema: spec(
        'accounts',
        "Change a user's first and last name, e-mail or time zone (itself, its account admin, an operator; '' or null clears)",
        {
          params: obj({ id }, ['id']),
          querystring: query(),
          body: userProfile,
          response: { 200: schemas.user },
        },
      ),
    },
    async (req) => accounts.updateUser(actorOf(req), req.params.id, req.body),
  );
  app.put<{ Params: { id: string }; Body: { role: Role } }>(
    '/v1/users/:id/role',
    {
      schema: spec(
        'accounts',
        "Change a user's role (admin; an account admin within its account, below admin)",
        {
          params: obj({ id }, ['id']),
          querystring: query(),
          body: obj({ role: roleSchema }, ['role']),
          response: { 200: schemas.user },
        },
      ),
    },
    async (req) => {
      const user = await services.roles.setRole(actorOf(req), req.params.id, req.body.role);
      authenticator.forgetUser(user.id);
      return user;
    },
  );
  app.put<{ Params: { id: string }; Body: { disabled: boolean } }>(
    '/v1/users/:id/disabled',
    {
      schema: spec(
        'accounts',
        'Disable a user (its logins, sessions and API keys are refused; its sessions end) or enable it again',
        {
          params: obj({ id }, ['id']),
          querystring: query(),
          body: obj({ disabled: { type: 'boolean' } }, ['disabled']),
          response: { 200: schemas.user },
        },
      ),
    },
    async (req) => {
      const user = await services.roles.setDisabled(actorOf(req), req.params.id, req.body.disabled);
      authenticator.forgetUser(user.id);
      return user;
    },
  );
  app.delete<{ Params: { id: string } }>(
    '/v1/users/:id',
    {
      schema: spec(
        'accounts',
        "Delete a user with its sessions and API keys (its account's resources stay); not oneself, not the last operator",
        { params: obj({ id }, ['id']), querystring: query(), response: { 204: { type: 'null' } } },
      ),
    },
    async (req, reply) => {
      await services.roles.remove(actorOf(req), req.params.id);
      authenticator.forgetUser(req.params.id);
      return reply.code(204).send();
    },
  );
  app.get<{ Querystring: { accountId?: string; userId?: string } }>(
    '/v1/api-keys',
    {
      schema: spec('accounts', 'List API keys (secrets are never listed)', {
        querystring: listQuery({ accountId: str, userId: str }),
        response: { 200: pageOf(schemas.apiKey) },
      }),
    },
    async (req) => apiKeys.list(actorOf(req), listArgs(req.query)),
  );
  app.post<{ Body: { userId?: string } | undefined }>(
    '/v1/api-keys',
    {
      schema: spec('accounts', 'Issue an API key; the secret key is shown only in this answer', {
        querystring: query(),
        body: obj({ userId: str }),
        response: { 201: schemas.apiKeyWithSecret },
      }),
    },
    async (req, reply) => reply.code(201).send(await apiKeys.create(actorOf(req), req.body ?? {})),
  );
  app.delete<{ Params: { apiKey: string } }>(
    '/v1/api-keys/:apiKey',
    {
      schema: spec('accounts', 'Revoke an API key', {
        params: obj({ apiKey: id }, ['apiKey']),
        querystring: query(),
        response: { 200: schemas.apiKey },
      }),
    },
    async (req) => {
      const revoked = await apiKeys.revoke(actorOf(req), req.params.apiKey);
      authenticator.forgetKey(revoked.apiKey);
      return revoked;
    },
  );
}
