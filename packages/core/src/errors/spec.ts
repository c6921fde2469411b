/** One entry of the error registry. `message` may hold `{placeholders}` filled from the error's params. */
export interface ErrorSpec {
  readonly status: number;
  readonly retryable: boolean;
  readonly message: string;
  /** What a caller should do on this error: retry, back off, fix the request, give up. */
  readonly recovery: string;
}

/** Declares the errors of one area; the registry merges areas and rejects duplicate codes. */
export function defineErrors<const T extends Record<string, ErrorSpec>>(
  area: string,
  specs: T,
): AreaErrors<T> {
  return { area, specs };
}

export interface AreaErrors<T extends Record<string, ErrorSpec>> {
  readonly area: string;
  readonly specs: T;
}
