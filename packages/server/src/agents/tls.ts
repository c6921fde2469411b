import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';

export interface ServerCertificate {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 of the certificate (DER), `AB:CD:…`: what agents pin. */
  readonly fingerprint: string;
}

/** The pinned form of a fingerprint: upper-case hex, no separators. */
export function normalizeFingerprint(value: string): string {
  return value.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
}

export function certificateFingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/**
 * The agent channel's TLS identity: made once, on first start, in `<dataDir>/agent-tls/`, and
 * reused ever after so the fingerprint agents pinned stays valid. Self-signed on purpose: agents
 * trust it by pinning, not through any CA (docs/adr/0004-agent-channel.md).
 */
export async function ensureServerCertificate(dataDir: string): Promise<ServerCertificate> {
  const dir = join(dataDir, 'agent-tls');
  const certPath = join(dir, 'server.crt');
  const keyPath = join(dir, 'server.key');
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    return { cert, key, fingerprint: certificateFingerprint(cert) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const now = new Date();
  const pems = await selfsigned.generate([{ name: 'commonName', value: `strata-server ${hostname()}` }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + 20 * 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 2, value: hostname() },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  // Key first and private: a crash between the writes leaves no certificate without its key.
  await writeFile(keyPath, pems.private, { mode: 0o600 });
  await chmod(keyPath, 0o600);
  await writeFile(certPath, pems.cert, { mode: 0o644 });
  return { cert: pems.cert, key: pems.private, fingerprint: certificateFingerprint(pems.cert) };
}
