import { defineErrors } from './spec.js';

/** Errors of the jobs area. */
export const jobsErrors = defineErrors('jobs', {});
