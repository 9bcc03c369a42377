// Copies the newest version's config.json of every model in models/ into
// deploy/k8s/base/model-configs/<name>.json (the router's ConfigMap).
// The deploy test fails when the copies drift from models/.
import { copyFileSync, mkdirSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'deploy', 'k8s', 'base', 'model-configs');
mkdirSync(out, { recursive: true });
for (const name of readdirSync(join(root, 'models'))) {
  const dir = join(root, 'models', name);
  const versions = readdirSync(dir).filter((v) => existsSync(join(dir, v, 'config.json')));
  versions.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const latest = versions.at(-1);
  if (!latest) continue;
  copyFileSync(join(dir, latest, 'config.json'), join(out, `${name}.json`));
  console.log(`model-configs/${name}.json ← models/${name}/${latest}/config.json`);
}
