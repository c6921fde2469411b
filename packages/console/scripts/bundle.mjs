// Bundles the console for the server to serve: dist/public/{index.html, app.js, app.css}. Every
// file comes from node_modules (no CDN): the console works on a machine with no internet.
import { cp, mkdir } from 'node:fs/promises';
import { build } from 'esbuild';

await mkdir('dist/public', { recursive: true });
await cp('public', 'dist/public', { recursive: true });
await build({
  entryPoints: ['src/app/main.tsx'],
  outfile: 'dist/public/app.js',
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
});
