import { defineErrors } from './spec.js';

/** Errors of the snapshot area. */
export const snapshotErrors = defineErrors('snapshot', {});
