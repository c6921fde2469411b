// The hold deadline lives with the hold itself (orchestration/hold), which every snapshot uses.
export { HOLD_DEADLINE_ENV, HOLD_DEADLINE_MS, holdDeadlineMs } from '../orchestration/hold/deadline.js';
