import { defineErrors } from './spec.js';

/** Errors of the api area. */
export const apiErrors = defineErrors('api', {});
