// Builds one Nx project: type-checks it with tsc and, for apps and the CLI,
// bundles the entry point with esbuild into dist/<projectRoot>/main.js
// (bundle.mjs: npm dependencies external, @pinrank/* sources inlined).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bundleEntry, root } from './bundle.mjs';

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
for (const [src, out] of entries) await bundleEntry(join(projectRoot, src), join('dist', projectRoot, out));
console.log(`built ${projectRoot}${entries.length ? ` → dist/${projectRoot}` : ' (type-checked)'}`);
