import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The pinrank checkout this code runs from: the nearest folder above `from`
 * (default this file's folder) that holds nx.json. It works from the sources
 * and from any bundle under the checkout (dist/apps/<app>, dist/tools/cli,
 * dist/bench/<entry>), whose folders sit at other depths than the sources.
 */
export function repoRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no nx.json above ${from}: not run from a pinrank checkout`);
  }
}
