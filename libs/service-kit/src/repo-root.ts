import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The `name` of the root package.json of a pinrank checkout (and of the images, which keep it). */
const ROOT_PACKAGE = 'pinrank';

function isRoot(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === ROOT_PACKAGE;
  } catch {
    return false;
  }
}

/**
 * The pinrank checkout (or image root) this code runs from: the nearest folder
 * above `from` (default this file's folder) whose package.json is pinrank's.
 * It works from the sources and from any bundle (dist/apps/<app>,
 * dist/tools/cli, dist/bench/<entry>), whose folders sit at other depths than
 * the sources.
 */
export function repoRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (isRoot(dir)) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json named "${ROOT_PACKAGE}" above ${from}: not run from a pinrank checkout`);
  }
}
