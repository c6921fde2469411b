import { defineErrors } from './spec.js';

/**
 * Errors of the api area: authentication, signatures and access.
 * Another account's resource answers NOT_FOUND (common), never a hint that it exists.
 */
export const apiErrors = defineErrors('api', {
  AUTH_UNAUTHENTICATED: {
    status: 401,
    retryable: false,
    message: 'Authentication required: {reason}',
    recovery:
      'Sign the request with an API key (apiKey, signature, signatureVersion=3, expires) or send a session token.',
  },
  AUTH_BAD_SIGNATURE: {
    status: 401,
    retryable: false,
    message: 'The request signature does not match: {reason}',
    recovery:
      'Sign the sorted, URL-encoded, lower-cased parameters with HMAC-SHA1 and the secret key of this API key (docs/api.md).',
  },
  AUTH_SIGNATURE_EXPIRED: {
    status: 401,
    retryable: false,
    message: 'The request signature expired at {expires}',
    recovery: 'Sign the request again with an expires time in the future (and within the allowed window).',
  },
  AUTH_REPLAYED: {
    status: 401,
    retryable: false,
    message: 'This signed request was already used',
    recovery: 'Sign every request afresh; add a nonce parameter to repeat an identical request.',
  },
  AUTH_BAD_CREDENTIALS: {
    status: 401,
    retryable: false,
    message: 'Unknown user or wrong password',
    recovery: 'Check the username and password.',
  },
  AUTH_FORBIDDEN: {
    status: 403,
    retryable: false,
    message: '{action} needs the {role} role',
    recovery: 'Use an API key or session of an account that has the role.',
  },
  AUTH_LAST_OPERATOR: {
    status: 409,
    retryable: false,
    message: 'User {userId} is the last operator: nobody could manage the cloud without it',
    recovery: 'Make another user an operator (role admin) first, then change this one.',
  },
  RESOURCE_LIMIT_EXCEEDED: {
    status: 409,
    retryable: false,
    message:
      'Account {account} may have at most {limit} of {type}; it uses {used} and asks for {requested} more',
    recovery:
      'Delete resources of that type first, or ask an operator to raise the limit (PUT /v1/accounts/{id}/limits/{type}, CloudStack updateResourceLimit).',
  },
  RATE_LIMITED: {
    status: 429,
    retryable: true,
    message: 'Too many {what}: retry in {retryAfterSeconds} s',
    recovery:
      'Wait the seconds of the Retry-After header (also details.retryAfterSeconds), then send the request again; slow down if it recurs (docs/api.md, "Limits").',
  },
  API_ROUTE_NOT_FOUND: {
    status: 404,
    retryable: false,
    message: 'No route {method} {path}',
    recovery: 'Read /openapi.json for the routes this server offers.',
  },
  API_PAYLOAD_TOO_LARGE: {
    status: 413,
    retryable: false,
    message: 'Request body too large: {reason}',
    recovery: 'Send a smaller body.',
  },
  // cloudstack: errors of the CloudStack-compatible API at /client/api (statuses are CloudStack's own).
  CLOUDSTACK_UNKNOWN_COMMAND: {
    status: 432,
    retryable: false,
    message: 'The given command does not exist or it is not available for user',
    recovery: 'Call listApis for the commands this server offers; command names are case-sensitive.',
  },
  CLOUDSTACK_MISSING_PARAMETER: {
    status: 431,
    retryable: false,
    message: 'Unable to execute API command {command} due to missing parameter {param}',
    recovery: 'Send the named parameter (listApis shows every parameter and which are required).',
  },
  CLOUDSTACK_INVALID_PARAMETER: {
    status: 431,
    retryable: false,
    message:
      'Unable to execute API command {command} due to invalid value. Invalid parameter {param} value={value} due to {reason}',
    recovery: 'Fix the named parameter and send the request again.',
  },
  // cloudstack: end
});
