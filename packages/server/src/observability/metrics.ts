import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * This server's Prometheus metrics, on a registry of its own (several servers may live in one
 * test process). Other parts add theirs with `registry` (jobs) or the hooks below (agents).
 */
export class Metrics {
  readonly registry = new Registry();
  readonly apiLatency: Histogram<'method' | 'route' | 'status'>;
  readonly apiErrors: Counter<'code'>;
  readonly agentsConnected: Gauge;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    this.apiLatency = new Histogram({
      name: 'strata_api_request_duration_seconds',
      help: 'HTTP API latency by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.apiErrors = new Counter({
      name: 'strata_api_errors_total',
      help: 'API error answers by error code',
      labelNames: ['code'],
      registers: [this.registry],
    });
    this.agentsConnected = new Gauge({
      name: 'strata_agents_connected',
      help: 'Host agents connected to this server',
      registers: [this.registry],
    });
    if (options.defaultMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'strata_' });
  }

  /** Hook for the agent channel: call with the number of connected agents whenever it changes. */
  setConnectedAgents(n: number): void {
    this.agentsConnected.set(n);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
