/**
 * What every driver call receives first. The signal is the caller's deadline or cancellation:
 * a driver MUST stop work it has not committed yet when it fires, and MUST leave the backend in
 * a state a retry of the same call (same ids) can finish.
 */
export interface StorageContext {
  readonly signal: AbortSignal;
  /** Correlates the driver's log lines with the job that asked. */
  readonly requestId?: string;
  readonly log?: (message: string, fields?: Readonly<Record<string, unknown>>) => void;
}
