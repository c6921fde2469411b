import { Command } from 'commander';
import { action } from '../context.js';
import { col } from '../output.js';
import { accountLimits } from './account-limits.js';
import { enc, resource } from './resource.js';

export function accounts(): Command {
  const cmd = resource({
    name: 'accounts',
    description: 'accounts (tenants)',
    path: '/v1/accounts',
    remove: false,
    columns: [col('id'), col('name'), col('role'), col('created', 'createdAt')],
    filters: [
      ['--name <name>', 'name', 'by name'],
      ['--role <role>', 'role', 'admin or user'],
    ],
  });
  cmd
    .command('create')
    .description('create an account (admin)')
    .requiredOption('--name <name>', 'account name')
    .option('--role <role>', 'admin or user', 'user')
    .action(
      action(async (ctx, o: { name: string; role: string }) =>
        ctx.one(await ctx.client.request('POST', '/v1/accounts', { body: { name: o.name, role: o.role } })),
      ),
    );
  cmd.addCommand(accountLimits());
  return cmd;
}

export function users(): Command {
  const cmd = new Command('users').description('users of accounts');
  cmd
    .command('list')
    .alias('ls')
    .description('list users')
    .option('--account <id>', 'of this account')
    .action(
      action(async (ctx, o: { account?: string }) =>
        ctx.list(await ctx.client.get('/v1/users', { accountId: o.account }), [
          col('id'),
          col('username'),
          col('account', 'accountId'),
          col('role'),
          col('disabled', 'disabledAt'),
        ]),
      ),
    );
  cmd
    .command('create')
    .description('create a user in an account')
    .requiredOption('--account <id>', 'the account')
    .requiredOption('--username <name>', 'login name')
    .option('--password <password>', 'console password (at least 8 characters)')
    .option('--role <role>', "admin, account-admin or user (default: the account's role)")
    .action(
      action(async (ctx, o: { account: string; username: string; password?: string; role?: string }) =>
        ctx.one(
          await ctx.client.request('POST', `/v1/accounts/${enc(o.account)}/users`, {
            body: {
              username: o.username,
              ...(o.password ? { password: o.password } : {}),
              ...(o.role ? { role: o.role } : {}),
            },
          }),
        ),
      ),
    );
  cmd
    .command('set-role')
    .description("change a user's role (admin; an account admin within its account, below admin)")
    .argument('<id>', 'the user')
    .argument('<role>', 'admin, account-admin or user')
    .action(
      action(async (ctx, id: string, role: string) =>
        ctx.one(await ctx.client.request('PUT', `/v1/users/${enc(id)}/role`, { body: { role } })),
      ),
    );
  for (const [name, disabled, what] of [
    ['disable', true, 'disable a user: its logins, sessions and API keys are refused'],
    ['enable', false, 'enable a disabled user again'],
  ] as const)
    cmd
      .command(name)
      .description(what)
      .argument('<id>', 'the user')
      .action(
        action(async (ctx, id: string) =>
          ctx.one(await ctx.client.request('PUT', `/v1/users/${enc(id)}/disabled`, { body: { disabled } })),
        ),
      );
  cmd
    .command('delete')
    .alias('rm')
    .description('delete a user with its sessions and API keys (its account keeps its resources)')
    .argument('<id>', 'the user')
    .action(
      action(async (ctx, id: string) => {
        await ctx.client.request('DELETE', `/v1/users/${enc(id)}`);
        if (ctx.json) ctx.print({ deleted: id });
        else ctx.one({ deleted: id });
      }),
    );
  return cmd;
}

export function apiKeys(): Command {
  const cmd = new Command('api-keys').description('API keys (the secret is shown once, at creation)');
  cmd
    .command('list')
    .alias('ls')
    .description('list API keys')
    .option('--account <id>', 'of this account')
    .option('--user <id>', 'of this user')
    .action(
      action(async (ctx, o: { account?: string; user?: string }) =>
        ctx.list(await ctx.client.get('/v1/api-keys', { accountId: o.account, userId: o.user }), [
          col('api key', 'apiKey'),
          col('user', 'userId'),
          col('account', 'accountId'),
          col('revoked', 'revokedAt'),
        ]),
      ),
    );
  cmd
    .command('create')
    .description('issue an API key')
    .option('--user <id>', 'for this user (default: yourself)')
    .action(
      action(async (ctx, o: { user?: string }) =>
        ctx.one(await ctx.client.request('POST', '/v1/api-keys', { body: o.user ? { userId: o.user } : {} })),
      ),
    );
  cmd
    .command('revoke')
    .description('revoke an API key')
    .argument('<apiKey>')
    .action(
      action(async (ctx, key: string) =>
        ctx.one(await ctx.client.request('DELETE', `/v1/api-keys/${enc(key)}`)),
      ),
    );
  return cmd;
}

export function events(): Command {
  const cmd = new Command('events').description('the event log');
  cmd
    .command('list')
    .alias('ls')
    .description('list events, oldest first')
    .option('--type <type>', 'e.g. volume.Created')
    .option('--resource-type <type>', 'e.g. volume')
    .option('--resource <id>', 'of this resource')
    .option('--job <id>', 'of this job')
    .option('--limit <n>', 'items per page')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(
      action(
        async (
          ctx,
          o: {
            type?: string;
            resourceType?: string;
            resource?: string;
            job?: string;
            limit?: string;
            cursor?: string;
          },
        ) =>
          ctx.list(
            await ctx.client.get('/v1/events', {
              type: o.type,
              resourceType: o.resourceType,
              resourceId: o.resource,
              jobId: o.job,
              limit: o.limit,
              cursor: o.cursor,
            }),
            [
              col('id'),
              col('created', 'createdAt'),
              col('type'),
              col('resource', (e) => `${String(e['resourceType'])}/${String(e['resourceId'])}`),
              col('job', 'jobId'),
              col('description'),
            ],
          ),
      ),
    );
  return cmd;
}

export function audit(): Command {
  const cmd = new Command('audit').description('the audit trail (admin)');
  cmd
    .command('list')
    .alias('ls')
    .description('list audit events, oldest first')
    .option('--kind <kind>', 'auth.failed, role.changed, api-key.created, api-key.revoked, agent.refused')
    .option('--account <id>', 'concerning this account')
    .option('--since <time>', 'at or after this ISO 8601 time')
    .option('--until <time>', 'before this ISO 8601 time')
    .option('--limit <n>', 'items per page')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(
      action(
        async (
          ctx,
          o: {
            kind?: string;
            account?: string;
            since?: string;
            until?: string;
            limit?: string;
            cursor?: string;
          },
        ) =>
          ctx.list(
            await ctx.client.get('/v1/audit-events', {
              kind: o.kind,
              accountId: o.account,
              since: o.since,
              until: o.until,
              limit: o.limit,
              cursor: o.cursor,
            }),
            [
              col('id'),
              col('created', 'createdAt'),
              col('kind'),
              col('via'),
              col('code'),
              col('target', (e) =>
                typeof e['targetType'] === 'string' ? `${e['targetType']}/${String(e['targetId'])}` : '',
              ),
              col('actor', 'actorUserId'),
              col('from', 'remoteAddress'),
            ],
          ),
      ),
    );
  return cmd;
}

export function whoami(): Command {
  return new Command('whoami')
    .description('show who the configured credentials are')
    .action(action(async (ctx) => ctx.one(await ctx.client.get('/v1/auth/whoami'))));
}
