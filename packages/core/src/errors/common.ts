import { defineErrors } from './spec.js';

export const commonErrors = defineErrors('common', {
  INVALID_ARGUMENT: {
    status: 400,
    retryable: false,
    message: 'Invalid {field}: {reason}',
    recovery: 'Fix the named field and send the request again.',
  },
  NOT_FOUND: {
    status: 404,
    retryable: false,
    message: '{kind} {id} not found',
    recovery: 'Check the id; the resource may have been deleted.',
  },
  ALREADY_EXISTS: {
    status: 409,
    retryable: false,
    message: '{kind} named {name} already exists',
    recovery: 'Choose another name, or use the existing resource.',
  },
  ILLEGAL_TRANSITION: {
    status: 409,
    retryable: false,
    message: '{machine} cannot take event {event} in state {state}',
    recovery: 'Read the resource again and act on its current state.',
  },
  CONFLICT: {
    status: 409,
    retryable: true,
    message: '{reason}',
    recovery: 'Another operation holds the resource; retry after it finishes.',
  },
  INTERNAL: {
    status: 500,
    retryable: true,
    message: 'Internal error: {reason}',
    recovery: 'Retry; if it persists, report it with the request id from the logs.',
  },
  UNAVAILABLE: {
    status: 503,
    retryable: true,
    message: '{what} is unavailable: {reason}',
    recovery: 'Retry with back-off.',
  },
  TIMEOUT: {
    status: 504,
    retryable: true,
    message: '{what} timed out after {ms} ms',
    recovery: 'Retry; the operation is idempotent on its id.',
  },
});
