#!/usr/bin/env node
// Writes docs/errors.md from the compiled error registry.
import { writeFileSync } from 'node:fs';
import { renderErrorDocs } from '../packages/core/dist/index.js';

writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorDocs());
