// Copies the newest version's config.json of every model in models/ into
// deploy/k8s/base/model-configs/<name>.json (the router's ConfigMap), and points
// the router's volume items at <name>/<newest version>/config.json.
// The deploy test fails when the copies or the paths drift from models/.
import { copyFileSync, mkdirSync, readdirSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'deploy', 'k8s', 'base', 'model-configs');
mkdirSync(out, { recursive: true });
const newest = new Map();
for (const name of readdirSync(join(root, 'models'))) {
  const dir = join(root, 'models', name);
  const versions = readdirSync(dir).filter((v) => existsSync(join(dir, v, 'config.json')));
  versions.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const latest = versions.at(-1);
  if (!latest) continue;
  copyFileSync(join(dir, latest, 'config.json'), join(out, `${name}.json`));
  console.log(`model-configs/${name}.json ← models/${name}/${latest}/config.json`);
  newest.set(name, latest);
}

const routerPath = join(root, 'deploy', 'k8s', 'base', 'router.yaml');
const router = readFileSync(routerPath, 'utf8').replace(/\{ key: ([a-z0-9_]+)\.json, path: \1\/[^/]+\/config\.json \}/g, (item, name) =>
  newest.has(name) ? `{ key: ${name}.json, path: ${name}/${newest.get(name)}/config.json }` : item,
);
writeFileSync(routerPath, router);
console.log('router.yaml: model-config volume items point at the newest versions');
