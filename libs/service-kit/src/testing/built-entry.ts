import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../repo-root';

// The benchmarks' `--built` mode (`npm run bench <name> -- --built`): the bench
// and every process it starts run as esbuild bundles, as they are deployed,
// instead of the TypeScript sources through tsx (whose per-closure name keeping
// and re-export getters cost a few microseconds a call on hot paths).

/** The variable `npm run bench <name> -- --built` sets for the bench and its children. */
export const BENCH_BUILT_ENV = 'PINRANK_BENCH_BUILT';

/** Whether this bench runs in `--built` mode. */
export function benchBuilt(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[BENCH_BUILT_ENV] === '1';
}

/** Bundles made by this process, by checkout and entry: a bench that starts one entry several times bundles it once. */
const bundled = new Map<string, string>();

/**
 * In `--built` mode, bundles `entry` (a path under the checkout `root`) as the
 * apps are bundled (tools/build/bundle.mjs), once per process, and returns the
 * bundle's path, for `node <bundle>`; otherwise undefined (run the sources
 * with tsx). `bundler` is the checkout whose bundle.mjs does it (default `root`).
 */
export function builtEntry(root: string, entry: string, bundler = root): string | undefined {
  if (!benchBuilt()) return undefined;
  const key = join(root, entry);
  let bundle = bundled.get(key);
  if (bundle === undefined) {
    bundle = execFileSync(process.execPath, [join(bundler, 'tools', 'build', 'bundle.mjs'), entry, '--root', root], { cwd: root, encoding: 'utf8' }).trim();
    bundled.set(key, bundle);
  }
  return bundle;
}

/** Node's arguments that run `entry` (a path under the checkout `root`): its bundle in `--built` mode, else the sources with tsx. */
export function entryArgs(entry: string, root: string = repoRoot()): string[] {
  const bundle = builtEntry(root, entry);
  return bundle ? [bundle] : ['--import', 'tsx', join(root, entry)];
}
