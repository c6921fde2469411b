import { body, type Command } from '../command.js';
import { read } from '../params.js';
import type { CsObject } from '../serialize.js';

export const listCapabilities: Command = {
  name: 'listCapabilities',
  description: 'Lists what this cloud supports',
  isAsync: false,
  params: {},
  handler: (ctx) =>
    Promise.resolve(
      body({
        capability: {
          cloudstackversion: ctx.version,
          product: 'Strata',
          kvmsnapshotenabled: true,
          securitygroupsenabled: false,
          userpublictemplateenabled: false,
          allowusercreateprojects: false,
          kubernetesserviceenabled: false,
          customdiskofferingminsize: 1,
          customdiskofferingmaxsize: 65536,
          apilimitinterval: 0,
          apilimitmax: 0,
          dynamicrolesenabled: false,
          vmsnapshotenabled: true,
          vmsnapshotquiesce: true,
          managedstorage: true,
        },
      }),
    ),
};

/** listApis is built from the command table it describes, so the two never disagree. */
export function makeListApis(table: () => ReadonlyMap<string, Command>): Command {
  return {
    name: 'listApis',
    description: 'Lists the commands this server offers, with their parameters',
    isAsync: false,
    entity: 'api',
    params: { name: { type: 'string', description: 'one command' } },
    handler(ctx) {
      const only = read.str(ctx.params, 'name');
      const apis: CsObject[] = [];
      for (const cmd of table().values()) {
        if (only !== undefined && cmd.name.toLowerCase() !== only.toLowerCase()) continue;
        apis.push({
          name: cmd.name,
          description: cmd.description,
          isasync: cmd.isAsync,
          since: '4.0.0',
          type: cmd.isAsync ? 'async' : 'sync',
          params: Object.entries(cmd.params).map(([name, p]) => ({
            name,
            description: p.description,
            type: p.type,
            required: p.required === true,
          })),
          response: cmd.entity
            ? [{ name: cmd.entity, type: 'object', description: `the ${cmd.entity}` }]
            : [],
        });
      }
      return Promise.resolve(body({ count: apis.length, api: apis }));
    },
  };
}
