export { register, CLOUDSTACK_PATH } from './plugin.js';
export { commandTable } from './commands/index.js';
export type * from './deps.js';
export { toCsError, csCodes, UNAUTHORIZED_TEXT } from './errors.js';
export { cloudStackExtension, type CloudStackOptions } from './extension.js';
export { cloudStackServices, jobView } from './adapter.js';
