import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

  it('takes only pinrank\'s own package.json as the root (a package of its own below it is not)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'repo-root-'));
    try {
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pinrank' }));
      mkdirSync(join(dir, 'libs', 'other'), { recursive: true });
      writeFileSync(join(dir, 'libs', 'other', 'package.json'), JSON.stringify({ name: '@pinrank/other' }));
      expect(repoRoot(join(dir, 'libs', 'other', 'src'))).toBe(dir);
      expect(repoRoot(join(dir, 'dist', 'apps', 'ranker'))).toBe(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says so outside a checkout', () => {
    expect(() => repoRoot('/')).toThrow(/no package.json named "pinrank" above \/: not run from a pinrank checkout/);
  });
});
