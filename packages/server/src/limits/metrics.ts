import { Gauge, type Registry } from 'prom-client';
import type { WaitGate } from './wait-gate.js';

/** `strata_job_waits_open`: long-poll waits held open now (refusals count in strata_api_errors_total). */
export function registerLimitMetrics(registry: Registry, waits: WaitGate): void {
  new Gauge({
    name: 'strata_job_waits_open',
    help: 'Long-poll job waits open on this server',
    registers: [registry],
    collect() {
      this.set(waits.open);
    },
  });
}
