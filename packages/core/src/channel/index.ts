export * from './facts.js';
export * from './events.js';
export * from './commands.js';
export * from './protocol.js';
export * from './wire-error.js';
export * from './listed-source.js';
