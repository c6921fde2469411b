import { errorAreas } from './registry.js';
import type { ErrorSpec } from './spec.js';

/** Renders docs/errors.md from the registry; a test keeps the committed file equal to this. */
export function renderErrorDocs(): string {
  const lines = [
    '# Error codes',
    '',
    'Generated from `packages/core/src/errors/` by `npm run docs:errors`; a test fails when this file and the registry differ.',
    'Every API error answers `{ "error": { "code", "message", "status", "retryable", "details" } }`.',
    '',
  ];
  for (const { area, specs } of errorAreas) {
    const entries = Object.entries(specs as Record<string, ErrorSpec>);
    if (entries.length === 0) continue;
    lines.push(
      `## ${area}`,
      '',
      '| code | HTTP | retryable | message | recovery |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const [code, s] of entries) {
      lines.push(
        `| \`${code}\` | ${s.status} | ${s.retryable ? 'yes' : 'no'} | ${s.message} | ${s.recovery} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}
