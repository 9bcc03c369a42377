// One esbuild bundle of a Node entry point, as deployed: npm dependencies stay
// external (native addons such as lmdb, onnxruntime-node and usearch load from
// node_modules), @pinrank/* sources are inlined, and the files a bundle loads by
// path at run time are copied next to it. build.mjs bundles the apps with it;
// the benchmarks' `--built` mode (tools/bench/run.mjs) bundles their entries
// with it, so they measure the code in the form that runs in production.
//   node tools/build/bundle.mjs <entry.ts> [outfile.js] [--root <checkout>]
import { copyFileSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// Loaded by path at run time: the ONNX Runtime session thread (libs/inference
// ort-session-thread.ts starts it from its own directory, the bundle's once inlined).
const RUNTIME_FILES = ['libs/inference/src/ort-session-thread.cjs'];

/**
 * Bundles `entry` into `outfile` (both absolute or relative to `repo`, default
 * this checkout; another checkout is bundled with its own tsconfig and
 * dependencies). Resolves with the bundle's absolute path.
 */
export async function bundleEntry(entry, outfile, repo = root) {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  const out = resolve(repo, outfile);
  await build({
    entryPoints: [resolve(repo, entry)],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    external: [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})],
    tsconfig: join(repo, 'tsconfig.base.json'),
    logLevel: 'warning',
  });
  const text = readFileSync(out, 'utf8');
  for (const f of RUNTIME_FILES) if (text.includes(basename(f))) copyFileSync(join(repo, f), join(dirname(out), basename(f)));
  return out;
}

/**
 * Where the benchmarks' `--built` mode puts the bundle of `entry` (a path under
 * `repo`): dist/bench/<entry with / as ->/main.js, three folders deep as the
 * apps' own bundles are, so code that finds the repository from its own
 * directory finds it the same way.
 */
export function benchBundlePath(entry, repo = root) {
  const slug = entry.replace(/\.[cm]?[jt]s$/, '').replace(/[\\/]+/g, '-');
  return join(repo, 'dist', 'bench', slug, 'main.js');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { root: { type: 'string' } } });
  const [entry, outfile] = positionals;
  if (!entry) throw new Error('usage: node tools/build/bundle.mjs <entry.ts> [outfile.js] [--root <checkout>] (default outfile: the benchmarks\' bundle path)');
  const repo = resolve(values.root ?? root);
  process.stdout.write(`${await bundleEntry(entry, outfile ?? benchBundlePath(entry, repo), repo)}\n`);
}
