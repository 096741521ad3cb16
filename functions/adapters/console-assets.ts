/**
 * The console's browser app as the console function serves it: the files of `functions/web/`
 * and the one library it loads (Preact with htm, a single ES module), read once when the
 * function starts. No CDN: everything the page loads comes from the app itself.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the browser app's files live next to this module in the repository. */
export const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url));
/** The path the app imports Preact + htm from. */
export const VENDOR_MODULE = 'vendor/preact-htm.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Every file below `dir` by its path relative to it; the vendor module from the installed package when `dir` has none (the repository). */
export async function loadConsoleAssets(dir = WEB_DIR): Promise<Map<string, { body: Uint8Array; type: string }>> {
  const assets = new Map<string, { body: Uint8Array; type: string }>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const type = TYPES[extname(entry.name)];
    if (type !== undefined) assets.set(relative(dir, path).split('\\').join('/'), { body: await readFile(path), type });
  }
  if (!assets.has(VENDOR_MODULE)) assets.set(VENDOR_MODULE, { body: await readFile(vendorModulePath()), type: TYPES['.js'] as string });
  return assets;
}

/** The installed Preact + htm standalone module (the bundler copies it beside the deployed function). */
export function vendorModulePath(): string {
  // The package's exports name no file path; its main module sits in dist/, the standalone build in preact/.
  return join(dirname(createRequire(import.meta.url).resolve('htm')), '..', 'preact', 'standalone.module.js');
}
