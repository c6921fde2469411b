import { defineErrors } from './spec.js';

/** Errors of the storage area. */
export const storageErrors = defineErrors('storage', {});
