import { ApiClient } from '@strata/cli/client';

export interface JobView {
  readonly id: string;
  readonly type: string;
  readonly state: string;
  readonly result: unknown;
  readonly error: { code: string; message: string } | null;
}

export interface Accepted<T> {
  readonly job: JobView;
  readonly resource: T;
}

export interface Page<T> {
  readonly items: readonly T[];
}

/** The demo speaks to Strata only through its REST API, signed like every client. */
export class Rest {
  readonly api: ApiClient;

  constructor(endpoint: string, apiKey: string, secretKey: string) {
    this.api = new ApiClient({ endpoint, apiKey, secretKey });
  }

  get<T>(path: string, query?: Record<string, string | number | boolean | undefined>): Promise<T> {
    return this.api.request<T>('GET', path, query ? { query } : {});
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.api.request<T>('POST', path, { body });
  }

  /** Waits for a job to finish; a failed job throws with its code and message. */
  async waitJob(job: JobView, timeoutMs = 300_000): Promise<JobView> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const j = await this.get<JobView>(`/v1/jobs/${job.id}`, { wait: 5 });
      if (j.state === 'Succeeded') return j;
      if (j.state === 'Failed')
        throw new Error(`job ${j.type} ${j.id} failed: ${j.error?.code}: ${j.error?.message}`);
      if (Date.now() > end) throw new Error(`job ${j.type} ${j.id} still ${j.state} after ${timeoutMs} ms`);
    }
  }

  /** Posts an asynchronous operation and waits for its job. */
  async run<T>(path: string, body: unknown = {}): Promise<{ resource: T; job: JobView }> {
    const a = await this.post<Accepted<T>>(path, body);
    return { resource: a.resource, job: await this.waitJob(a.job) };
  }

  /** Deletes through an asynchronous operation and waits for its job. */
  async runDelete(path: string): Promise<JobView> {
    const a = await this.api.request<Accepted<unknown>>('DELETE', path);
    return this.waitJob(a.job);
  }

  /** The first item of a list filtered by name, if any: setup steps are idempotent by name. */
  async findByName<T>(path: string, name: string): Promise<T | undefined> {
    return (await this.get<Page<T>>(path, { name })).items[0];
  }
}
