import { parseExperimentConfig, pinnedSnapshotVersions } from './experiment-config';
import { checkPinnedSnapshots, chooseStack, collectEnv, collectSnapshot, parseSpeedup } from './run-options';

describe('experiment run options', () => {
  it('collects snapshots and refuses malformed or repeated labels', () => {
    const list = collectSnapshot('stale=14', collectSnapshot('fresh=0', undefined));
    expect(list).toEqual([
      { label: 'fresh', daysBefore: 0 },
      { label: 'stale', daysBefore: 14 },
    ]);
    expect(() => collectSnapshot('stale', undefined)).toThrow(/label=daysBeforeStart/);
    expect(() => collectSnapshot('fresh=3', list)).toThrow(/twice/);
  });

  it('parses the speed-up and router environment', () => {
    expect(parseSpeedup('max')).toBe('max');
    expect(parseSpeedup('60')).toBe(60);
    expect(() => parseSpeedup('0')).toThrow(/positive/);
    expect(collectEnv('A=b=c', { X: '1' })).toEqual({ X: '1', A: 'b=c' });
    expect(() => collectEnv('=x', undefined)).toThrow(/KEY=VALUE/);
  });

  it('needs --world and both addresses to use a running stack', () => {
    expect(chooseStack({})).toEqual({ kind: 'own' });
    expect(() => chooseStack({ router: 'h:1' })).toThrow(/--feature-server/);
    expect(() => chooseStack({ router: 'h:1', featureServer: 'h:2' })).toThrow(/--world/);
    expect(chooseStack({ router: 'h:1', featureServer: 'h:2', world: 'w' })).toMatchObject({ kind: 'attach', world: 'w' });
  });

  it('outlines a configuration and checks its pinned snapshots', () => {
    const config = parseExperimentConfig(
      JSON.stringify({
        version: 'demo-1',
        holdout: { fraction: 0.1, salt: 'holdout' },
        layers: [{ name: 'ranker', experiments: [{ name: 'fresh-vs-stale', arms: [{ name: 'fresh', fraction: 0.5 }, { name: 'stale', fraction: 0.5, snapshotVersion: 'stale' }] }] }],
      }),
    );
    expect(config.experiments.map((e) => [e.layer, e.name, e.arms.map((a) => a.name)])).toEqual([['ranker', 'fresh-vs-stale', ['fresh', 'stale']]]);
    expect(config.holdoutFraction).toBe(0.1);
    expect(pinnedSnapshotVersions(config)).toEqual(['stale']);
    expect(() => checkPinnedSnapshots(['stale'], [{ label: 'fresh', daysBefore: 0 }])).toThrow(/--snapshot stale=/);
    expect(() => checkPinnedSnapshots(['stale'], [{ label: 'fresh', daysBefore: 0 }, { label: 'stale', daysBefore: 14 }])).not.toThrow();
    expect(() => parseExperimentConfig('{')).toThrow(/JSON/);
  });
});
