// The request mix autocannon sends: reads a tenant makes all day, each signed afresh (the server
// refuses a signature it has seen, so a replayed request would measure refusals).
import { signRestRequest } from '@strata/server/auth/rest-signing';

/** [weight, path, query] for one request; volume ids are picked at random from `volumeIds`. */
function pick(volumeIds, zoneId) {
  const r = Math.random() * 100;
  const vol = volumeIds[Math.floor(Math.random() * volumeIds.length)];
  if (r < 40) return ['/v1/volumes', { limit: '50' }];
  if (r < 75) return [`/v1/volumes/${vol}`, {}];
  if (r < 85) return ['/v1/jobs', { limit: '20' }];
  if (r < 95) return [`/v1/zones/${zoneId}`, {}];
  return ['/v1/zones', {}];
}

/** An autocannon request whose path and signature are made when it is sent. */
export function mixedRequest(creds, volumeIds, zoneId) {
  return {
    method: 'GET',
    setupRequest(req) {
      const [path, query] = pick(volumeIds, zoneId);
      const qs = signRestRequest({
        method: 'GET',
        path,
        query,
        apiKey: creds.apiKey,
        secretKey: creds.secretKey,
      });
      return { ...req, method: 'GET', path: `${path}?${qs}` };
    },
  };
}
