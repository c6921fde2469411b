// Bundles the console for the server to serve: dist/public/{index.html, app.js, app.css, uplot.css}. Every
// file comes from node_modules (no CDN): the console works on a machine with no internet.
import { cp, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

await mkdir('dist/public', { recursive: true });
await cp('public', 'dist/public', { recursive: true });
// the IOPS graph's library ships its own small stylesheet (docs/dependencies.md)
await cp(createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css'), 'dist/public/uplot.css');
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
