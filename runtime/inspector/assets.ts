import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  type: string;
  body: Buffer;
}

const FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/app.js.map': 'app.js.map',
  '/app.css': 'app.css',
};

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
};

/**
 * The built page (scripts/build-ui.mjs), read once at start: it is
 * small, and serving from memory keeps the page off the disk's path.
 * The compiled server sits in dist/runtime/inspector, the source one in
 * runtime/inspector; both find dist/inspector-ui.
 */
export async function loadAssets(
  dir = defaultAssetsDir(),
): Promise<Map<string, Asset> | null> {
  if (dir === null || !existsSync(join(dir, 'index.html'))) return null;

  const assets = new Map<string, Asset>();
  for (const [path, file] of Object.entries(FILES)) {
    const body = await readFile(join(dir, file)).catch(() => null);
    if (body === null) continue;
    const extension = file.slice(file.lastIndexOf('.') + 1);
    assets.set(path, { type: TYPES[extension]!, body });
  }
  return assets;
}

function defaultAssetsDir(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, '..', '..', 'inspector-ui'),
    join(here, '..', '..', 'dist', 'inspector-ui'),
  ];
  return candidates.find((dir) => existsSync(dir)) ?? null;
}
