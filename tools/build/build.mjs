// Builds one Nx project: type-checks it with tsc and, for apps and the CLI,
// bundles the entry point with esbuild into dist/<projectRoot>/main.js.
// npm dependencies stay external (native addons such as lmdb, onnxruntime-node
// and usearch must be loaded from node_modules), @pinrank/* sources are inlined.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const projectRoot = process.argv[2];
if (!projectRoot) throw new Error('usage: node tools/build/build.mjs <projectRoot>');

execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, projectRoot, 'tsconfig.json'), '--noEmit'], {
  cwd: root,
  stdio: 'inherit',
});

const entries = [
  ['src/main.ts', 'main.js'],
  ['src/cli.ts', 'cli.js'],
].filter(([src]) => existsSync(join(root, projectRoot, src)));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];
for (const [src, out] of entries) {
  await build({
    entryPoints: [join(root, projectRoot, src)],
    outfile: join(root, 'dist', projectRoot, out),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    external,
    tsconfig: join(root, 'tsconfig.base.json'),
    logLevel: 'warning',
  });
}
// Files a bundle loads by path at run time, copied next to the bundles that name them: the ONNX Runtime
// session thread (libs/inference ort-session-thread.ts starts it from its own directory, the bundle's once inlined).
const RUNTIME_FILES = ['libs/inference/src/ort-session-thread.cjs'];
for (const f of RUNTIME_FILES) {
  const name = f.split('/').pop();
  const used = entries.some(([, out]) => readFileSync(join(root, 'dist', projectRoot, out), 'utf8').includes(name));
  if (used) copyFileSync(join(root, f), join(root, 'dist', projectRoot, name));
}
console.log(`built ${projectRoot}${entries.length ? ` → dist/${projectRoot}` : ' (type-checked)'}`);
