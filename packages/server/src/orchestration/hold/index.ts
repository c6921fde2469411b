export { HOLD_DEADLINE_ENV, HOLD_DEADLINE_MS, holdDeadlineMs } from './deadline.js';
export { holdAroundOverlay, releaseHold, type HeldCut, type Hold } from './held-cut.js';
