// Writes openapi.json from a server instance and the console's API types generated from it.
// Run after a build when the API changes: openapi.int.test fails until both are committed anew.
import { writeFile } from 'node:fs/promises';
import { OPENAPI_FILE, TYPES_FILE, currentOpenApi, typesOf } from '../dist/openapi/dump.js';

const doc = await currentOpenApi();
await writeFile(OPENAPI_FILE, doc);
await writeFile(TYPES_FILE, await typesOf(doc));
console.log(`wrote ${OPENAPI_FILE} and ${TYPES_FILE}`);
