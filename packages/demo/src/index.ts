export { bringUp, runDemo, type DemoOptions, type DemoRun, type Environment } from './demo.js';
