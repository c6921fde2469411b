export { register, CLOUDSTACK_PATH } from './plugin.js';
export { commandTable } from './commands/index.js';
export type * from './deps.js';
export { toCsError, csCodes, UNAUTHORIZED_TEXT } from './errors.js';
export { cloudStackAuthenticator, type KeyLookup, type CloudStackAuthOptions } from './authenticate.js';
export { cloudStackServices, jobView } from './adapter.js';
