import { TelemetryConfigError } from '@pinrank/telemetry';
import { ConfigError } from './config';
import { runMain } from './run-main';

describe('runMain', () => {
  async function exitOf(failure: unknown): Promise<{ code: number | undefined; out: string }> {
    let out = '';
    const exited = new Promise<number | undefined>((resolve) => {
      jest.spyOn(process, 'exit').mockImplementation(((code?: number) => resolve(code)) as never);
    });
    runMain(() => Promise.reject(failure), (l) => (out += l));
    const code = await exited;
    jest.restoreAllMocks();
    return { code, out };
  }

  it('prints configuration problems without a stack and exits 2', async () => {
    const { code, out } = await exitOf(new ConfigError(['X_ADDR="a": expected host:port']));
    expect(code).toBe(2);
    expect(out).toBe('invalid configuration:\n  X_ADDR="a": expected host:port\n');
    expect((await exitOf(new TelemetryConfigError('OTEL_TRACES_EXPORTER: bad'))).code).toBe(2);
  });

  it('exits 1 on any other start-up failure', async () => {
    const { code, out } = await exitOf(new Error('port in use'));
    expect(code).toBe(1);
    expect(out).toMatch(/^start-up failed: Error: port in use/);
  });
});
