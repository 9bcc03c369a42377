import { cgroupCpuLimit, parseCpuMax, resolveIntraOpThreads, type ReadText } from './cpu-budget';

/** A file system of the given files (anything else cannot be read). */
const files =
  (map: Record<string, string>): ReadText =>
  (path) =>
    map[path];

describe('cgroup CPU limit', () => {
  it('parses cgroup v2 cpu.max: a quota in whole CPUs rounded up; "max" is no limit', () => {
    expect(parseCpuMax('200000 100000\n')).toBe(2);
    expect(parseCpuMax('150000 100000')).toBe(2);
    expect(parseCpuMax('50000 100000')).toBe(1);
    expect(parseCpuMax('max 100000')).toBeUndefined();
    expect(parseCpuMax('')).toBeUndefined();
    expect(parseCpuMax('garbage')).toBeUndefined();
    expect(parseCpuMax('0 100000')).toBeUndefined();
  });

  it('reads v2 under the process’s own cgroup, then at the mount’s root (a container’s view)', () => {
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/kubepods/pod1/c1\n', '/sys/fs/cgroup/kubepods/pod1/c1/cpu.max': '400000 100000' }))).toBe(4);
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '300000 100000' }))).toBe(3);
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000' }))).toBeUndefined();
  });

  it('reads v1 cpu.cfs_quota_us / cpu.cfs_period_us; -1 is no limit', () => {
    const v1 = '4:memory:/x\n2:cpu,cpuacct:/docker/abc\n0::/\n';
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': v1, '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '250000\n', '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n' }))).toBe(3);
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '1:cpu:/\n', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '200000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }))).toBe(2);
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '1:cpu:/\n', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }))).toBeUndefined();
    expect(cgroupCpuLimit(files({}))).toBeUndefined();
  });
});

describe('resolveIntraOpThreads', () => {
  it('keeps a configured count, takes a cgroup limit below the cores for 0, and else leaves 0 to ONNX Runtime', () => {
    const budget = (limit: number | undefined, cores: number) => () => ({ limit, cores });
    expect(resolveIntraOpThreads(3, budget(2, 64))).toEqual({ threads: 3, source: 'configured' });
    expect(resolveIntraOpThreads(0, budget(2, 64))).toEqual({ threads: 2, source: 'cgroup cpu limit' });
    expect(resolveIntraOpThreads(0, budget(64, 64))).toEqual({ threads: 0, source: 'onnxruntime default' });
    expect(resolveIntraOpThreads(0, budget(undefined, 64))).toEqual({ threads: 0, source: 'onnxruntime default' });
  });
});
