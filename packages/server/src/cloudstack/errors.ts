import { StrataError } from '@strata/core';
import { fromDatabaseError } from '../api/database-errors.js';
import type { CsObject } from './serialize.js';

/** CloudStack's error answer: HTTP status = errorcode (ApiErrorCode), cserrorcode (CSExceptionErrorCode). */
export interface CsError {
  readonly errorcode: number;
  readonly cserrorcode: number;
  readonly errortext: string;
  /** Strata's own registry code, so a CloudStack client's user can look it up in docs/errors.md. */
  readonly stratacode: string;
}

// CloudStack's ApiErrorCode values.
export const API_ERROR = {
  UNAUTHORIZED: 401,
  PARAM_ERROR: 431,
  UNSUPPORTED_ACTION_ERROR: 432,
  INTERNAL_ERROR: 530,
  ACCOUNT_ERROR: 531,
  INSUFFICIENT_CAPACITY_ERROR: 533,
  RESOURCE_UNAVAILABLE_ERROR: 534,
  RESOURCE_ALLOCATION_ERROR: 535,
  RESOURCE_IN_USE_ERROR: 536,
  API_LIMIT_EXCEED: 429,
} as const;

// CloudStack's CSExceptionErrorCode values for the exceptions these situations raise there.
export const CS_EXCEPTION = {
  CloudRuntimeException: 4250,
  ConcurrentOperationException: 4300,
  InsufficientStorageCapacityException: 4340,
  InvalidParameterValueException: 4350,
  PermissionDeniedException: 4365,
  ResourceAllocationException: 4370,
  ResourceInUseException: 4375,
  ResourceUnavailableException: 4380,
  OperationTimedoutException: 4560,
  ServerApiException: 9999,
} as const;

/** The text CloudStack answers for every authentication failure: it never says which part failed. */
export const UNAUTHORIZED_TEXT = 'unable to verify user credentials and/or request signature';

/** CloudStack's (errorcode, cserrorcode) for a registry code and its HTTP status. */
export function csCodes(code: string, status: number): [number, number] {
  if (code.startsWith('AUTH_') && status === 401)
    return [API_ERROR.UNAUTHORIZED, CS_EXCEPTION.ServerApiException];
  if (code === 'CLOUDSTACK_UNKNOWN_COMMAND')
    return [API_ERROR.UNSUPPORTED_ACTION_ERROR, CS_EXCEPTION.ServerApiException];
  if (code === 'CLOUDSTACK_MISSING_PARAMETER' || code === 'CLOUDSTACK_INVALID_PARAMETER') {
    return [API_ERROR.PARAM_ERROR, CS_EXCEPTION.ServerApiException];
  }
  if (code === 'RATE_LIMITED') return [API_ERROR.API_LIMIT_EXCEED, CS_EXCEPTION.ServerApiException];
  if (code === 'CONFLICT') return [API_ERROR.INTERNAL_ERROR, CS_EXCEPTION.ConcurrentOperationException];
  // CloudStack refuses a VM past vmsnapshot.max with a CloudRuntimeException, not a parameter error.
  if (code === 'VM_SNAPSHOT_LIMIT') return [API_ERROR.INTERNAL_ERROR, CS_EXCEPTION.CloudRuntimeException];
  // CloudStack refuses work past an account's limit with a ResourceAllocationException.
  if (code === 'RESOURCE_LIMIT_EXCEEDED')
    return [API_ERROR.RESOURCE_ALLOCATION_ERROR, CS_EXCEPTION.ResourceAllocationException];
  if (/_IN_USE$|^VOLUME_HAS_DEPENDENT_SNAPSHOTS$/.test(code))
    return [API_ERROR.RESOURCE_IN_USE_ERROR, CS_EXCEPTION.ResourceInUseException];
  if (/_EXHAUSTED$|CAPACITY/.test(code)) {
    return [API_ERROR.INSUFFICIENT_CAPACITY_ERROR, CS_EXCEPTION.InsufficientStorageCapacityException];
  }
  switch (status) {
    case 400:
    case 404:
    case 409:
    case 422:
      return [API_ERROR.PARAM_ERROR, CS_EXCEPTION.InvalidParameterValueException];
    case 401:
    case 403:
      return [API_ERROR.ACCOUNT_ERROR, CS_EXCEPTION.PermissionDeniedException];
    case 503:
      return [API_ERROR.RESOURCE_UNAVAILABLE_ERROR, CS_EXCEPTION.ResourceUnavailableException];
    case 504:
      return [API_ERROR.INTERNAL_ERROR, CS_EXCEPTION.OperationTimedoutException];
    default:
      return [API_ERROR.INTERNAL_ERROR, CS_EXCEPTION.CloudRuntimeException];
  }
}

/** Translates any failure into CloudStack's error shape. */
export function toCsError(thrown: unknown): CsError {
  const err =
    thrown instanceof StrataError
      ? thrown
      : (fromDatabaseError(thrown) ??
        new StrataError(
          'INTERNAL',
          { reason: 'an unexpected error; the server log has it' },
          { cause: thrown },
        ));
  const [errorcode, cserrorcode] = csCodes(err.code, err.status);
  const errortext = errorcode === API_ERROR.UNAUTHORIZED ? UNAUTHORIZED_TEXT : err.message;
  return { errorcode, cserrorcode, errortext, stratacode: err.code };
}

/** The body CloudStack puts under `<command>response` (or `errorresponse`). */
export function csErrorBody(e: CsError): CsObject {
  return {
    uuidList: [],
    errorcode: e.errorcode,
    cserrorcode: e.cserrorcode,
    errortext: e.errortext,
    stratacode: e.stratacode,
  };
}
