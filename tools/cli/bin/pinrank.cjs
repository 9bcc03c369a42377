#!/usr/bin/env node
// The `pinrank` command. Runs the bundle (dist/tools/cli/cli.js) when it has
// been built, otherwise the TypeScript sources through tsx from node_modules.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..', '..', '..');
const bundle = join(root, 'dist', 'tools', 'cli', 'cli.js');

function load() {
  if (existsSync(bundle)) return require(bundle);
  process.env.TSX_TSCONFIG_PATH = process.env.TSX_TSCONFIG_PATH || join(root, 'tsconfig.base.json');
  require(require.resolve('tsx/cjs/api', { paths: [root] })).register();
  return require(join(__dirname, '..', 'src', 'cli.ts'));
}

load()
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err) => {
    process.stderr.write(`pinrank: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
