export { runDemo, type DemoOptions, type DemoRun } from './demo.js';
