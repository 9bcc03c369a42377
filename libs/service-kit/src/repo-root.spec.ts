import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './repo-root';

describe('repoRoot', () => {
  it('finds the checkout from the sources and from bundles at other depths', () => {
    const root = repoRoot();
    expect(existsSync(join(root, 'nx.json'))).toBe(true);
    expect(repoRoot(join(root, 'apps', 'ranker', 'bench'))).toBe(root);
    // The CLI's bundle sits three folders deep, its sources four: a fixed number of '..' fits only one of them.
    expect(repoRoot(join(root, 'dist', 'tools', 'cli'))).toBe(root);
    expect(repoRoot(join(root, 'tools', 'cli', 'src', 'commands'))).toBe(root);
  });

  it('says so outside a checkout', () => {
    expect(() => repoRoot('/')).toThrow(/no nx.json above \/: not run from a pinrank checkout/);
  });
});
