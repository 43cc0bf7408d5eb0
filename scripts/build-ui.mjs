// Bundles the inspector page into dist/inspector-ui: one script, one
// stylesheet and the HTML shell, so the page needs nothing from the
// network.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'runtime/inspector/ui');
const out = join(root, 'dist/inspector-ui');

await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(source, 'main.tsx')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'linked',
  logLevel: 'warning',
});
await build({
  entryPoints: [join(source, 'style.css')],
  outfile: join(out, 'app.css'),
  bundle: true,
  minify: true,
  logLevel: 'warning',
});
await copyFile(join(source, 'index.html'), join(out, 'index.html'));
