export { buildProgram, run, VERSION } from './program.js';
export { ApiClient, CliError } from './client.js';
export {
  configPath,
  loadConfig,
  saveConfig,
  resolveProfile,
  type ConfigFile,
  type Profile,
} from './config.js';
export { followJob, type JobRow } from './follow.js';
export { bashCompletion } from './commands/completion.js';
