import { type ServiceSpec } from './managed-process';
import { moveToFreshPorts, portClash, withEphemeralPorts } from './ephemeral-ports';

const spec = (name: string, port: number, env: Record<string, string> = {}): ServiceSpec => ({
  name,
  app: 'ranker',
  args: [],
  address: `127.0.0.1:${port}`,
  metricsAddress: `127.0.0.1:${port + 1000}`,
  env: { ADDR: `127.0.0.1:${port}`, ...env },
});

describe('a test stack on free ports', () => {
  const stack = [spec('cpu-worker', 50062), spec('gpu-worker', 50061), spec('router', 50050, { RANKER_CPU_WORKERS: '127.0.0.1:50062', RANKER_GPU_WORKERS: '127.0.0.1:50061' })];

  it('moves every service, and every variable naming one, onto distinct free ports', async () => {
    const moved = await withEphemeralPorts(stack, '127.0.0.1');
    const ports = moved.flatMap((s) => [s.address, s.metricsAddress]);
    expect(new Set(ports).size).toBe(6);
    expect(ports.some((a) => stack.some((s) => s.address === a || s.metricsAddress === a))).toBe(false);
    const router = moved.find((s) => s.name === 'router') as ServiceSpec;
    expect(router.env['RANKER_CPU_WORKERS']).toBe(moved[0]?.address);
    expect(router.env['RANKER_GPU_WORKERS']).toBe(moved[1]?.address);
  });

  it('moves one service that could not bind, and the variables that name it, leaving the others', async () => {
    const moved = await moveToFreshPorts(stack, 'cpu-worker', '127.0.0.1');
    const [cpu, gpu, router] = moved as [ServiceSpec, ServiceSpec, ServiceSpec];
    expect(cpu.address).not.toBe('127.0.0.1:50062');
    expect(cpu.metricsAddress).not.toBe('127.0.0.1:51062');
    expect(cpu.env['ADDR']).toBe(cpu.address);
    expect(router.env['RANKER_CPU_WORKERS']).toBe(cpu.address);
    expect(gpu).toEqual(stack[1]);
    expect(router.address).toBe('127.0.0.1:50050');
    expect(router.env['RANKER_GPU_WORKERS']).toBe('127.0.0.1:50061');
    await expect(moveToFreshPorts(stack, 'nobody', '127.0.0.1')).rejects.toThrow(/no service nobody/);
  });

  it('tells a port taken by another process from other start-up failures', () => {
    expect(portClash(['start-up failed: Error: listen EADDRINUSE: address already in use 127.0.0.1:29972'])).toBe(true);
    expect(portClash(['start-up failed: Error: cannot open model'])).toBe(false);
  });
});
