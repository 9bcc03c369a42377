import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../repo-root';
import { BENCH_BUILT_ENV, benchBuilt, entryArgs } from './built-entry';

describe('the benchmarks\' --built mode', () => {
  const saved = process.env[BENCH_BUILT_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[BENCH_BUILT_ENV];
    else process.env[BENCH_BUILT_ENV] = saved;
  });

  it('runs the sources with tsx unless the mode is on', () => {
    delete process.env[BENCH_BUILT_ENV];
    expect(benchBuilt()).toBe(false);
    expect(entryArgs('apps/ranker/bench/router-process.ts')).toEqual(['--import', 'tsx', join(repoRoot(), 'apps/ranker/bench/router-process.ts')]);
  });

  it('bundles the entry as the apps are bundled, three folders deep under dist/bench', () => {
    process.env[BENCH_BUILT_ENV] = '1';
    const [bundle, ...rest] = entryArgs('apps/ranker/bench/router-process.ts');
    expect(rest).toEqual([]);
    expect(bundle).toBe(join(repoRoot(), 'dist', 'bench', 'apps-ranker-bench-router-process', 'main.js'));
    const text = readFileSync(bundle as string, 'utf8');
    // @pinrank sources are inlined, npm packages stay external.
    expect(text).toContain('routerOptionsFromEnv');
    expect(text).toMatch(/require\("@grpc\/grpc-js"\)/);
    expect(text).not.toContain('__name(');
    // A second start of the same entry reuses the bundle: the file is not written again.
    const written = statSync(bundle as string).mtimeMs;
    expect(entryArgs('apps/ranker/bench/router-process.ts')).toEqual([bundle]);
    expect(statSync(bundle as string).mtimeMs).toBe(written);
  }, 60_000);
});
