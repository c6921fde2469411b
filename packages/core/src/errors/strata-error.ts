import { errorSpec, type ErrorCode } from './registry.js';

export type ErrorParams = Record<string, string | number | boolean | undefined>;

function render(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => {
    const value = params[key];
    return value === undefined ? whole : String(value);
  });
}

/** The one error type of Strata. Callers test `code`, never `instanceof` of subclasses. */
export class StrataError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly params: ErrorParams;

  constructor(code: ErrorCode, params: ErrorParams = {}, options?: { cause?: unknown }) {
    const spec = errorSpec(code);
    super(render(spec.message, params), options);
    this.name = 'StrataError';
    this.code = code;
    this.status = spec.status;
    this.retryable = spec.retryable;
    this.params = params;
  }

  toJSON(): { code: string; message: string; status: number; retryable: boolean; details: ErrorParams } {
    return {
      code: this.code,
      message: this.message,
      status: this.status,
      retryable: this.retryable,
      details: this.params,
    };
  }
}

export function isStrataError(value: unknown, code?: ErrorCode): value is StrataError {
  return value instanceof StrataError && (code === undefined || value.code === code);
}

/** Turns anything thrown into a StrataError, keeping the original as its cause. */
export function toStrataError(value: unknown): StrataError {
  if (value instanceof StrataError) return value;
  const reason = value instanceof Error ? value.message : String(value);
  return new StrataError('INTERNAL', { reason }, { cause: value });
}
