import type { Api } from './client.js';
import { ApiError } from './client.js';

/** Waits for a job to end (the API's long poll); a failed job throws its coded error. */
export async function waitJob(api: Api, id: string): Promise<void> {
  for (;;) {
    const j = await api.get('/v1/jobs/{id}', { id }, { wait: 30 });
    if (j.state === 'Succeeded') return;
    if (j.state === 'Failed') {
      const e = (j.error ?? {}) as { code?: string; message?: string };
      throw new ApiError(409, e.code ?? 'JOB_FAILED', e.message ?? `job ${j.type} failed`);
    }
  }
}
