import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Requests log with `reqId`; jobs with `jobId` (the engine binds it).
 * Secrets never reach a log line: signatures, keys, passwords and tokens are redacted.
 */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const config: LoggerOptions = {
    level: options.level ?? process.env['STRATA_LOG_LEVEL'] ?? 'info',
    base: { service: 'strata-server' },
    serializers: {
      // Paths only: query strings carry signatures and API keys.
      req: (req: { method?: string; url?: string; id?: string }) => ({
        method: req.method,
        path: (req.url ?? '').split('?')[0],
      }),
    },
    redact: {
      paths: [
        'req.headers.authorization',
        'password',
        'secretKey',
        'token',
        '*.password',
        '*.secretKey',
        '*.token',
      ],
      censor: '[redacted]',
    },
  };
  return options.destination ? pino(config, options.destination as pino.DestinationStream) : pino(config);
}
