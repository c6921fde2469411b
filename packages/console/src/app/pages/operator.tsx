import type { Session } from '../session.js';
import { HostList } from './hosts.js';
import { Orphans } from './orphans.js';
import { Accounts } from './accounts.js';
import { Users } from './users.js';
import { ApiKeys } from './api-keys.js';

/** The operator pages' nav entries; a tenant's session has none (the API refuses them anyway). */
export const OPERATOR_NAV: readonly [string, string][] = [
  ['#/hosts', 'Hosts'],
  ['#/orphans', 'Orphans'],
  ['#/accounts', 'Accounts'],
  ['#/users', 'Users'],
  ['#/keys', 'API keys'],
];

/** The operator page for a route's section ('users?account=ID'), or null when it is not one. */
export function operatorPage(session: Session, section: string) {
  const [name = '', q = ''] = section.split('?');
  const param = new URLSearchParams(q);
  switch (name) {
    case 'hosts':
      return <HostList session={session} />;
    case 'orphans':
      return <Orphans session={session} />;
    case 'accounts':
      return <Accounts session={session} />;
    case 'users':
      return <Users session={session} accountId={param.get('account') ?? ''} />;
    case 'keys':
      return <ApiKeys session={session} userId={param.get('user') ?? ''} />;
    default:
      return null;
  }
}
