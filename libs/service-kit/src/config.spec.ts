import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, flagName, readConfig, vars } from './config';
import { serverOptionsFromConfig, serverVars } from './server-config';

const spec = {
  address: vars.hostPort('FEATURE_SERVER_ADDR', '0.0.0.0:50051'),
  maxLen: vars.int('MAX_LEN', 100, { min: 1, max: 1000 }),
  role: vars.oneOf('RANKER_ROLE', ['router', 'gpu', 'cpu'], 'router'),
  verbose: vars.bool('VERBOSE', false),
  peers: vars.list('PEERS', []),
  secret: vars.optional(vars.string('SECRET')),
};

describe('readConfig', () => {
  it('fills defaults and parses typed values', () => {
    expect(readConfig(spec, {})).toEqual({ address: '0.0.0.0:50051', maxLen: 100, role: 'router', verbose: false, peers: [], secret: undefined });
    expect(readConfig(spec, { MAX_LEN: '7', RANKER_ROLE: 'gpu', VERBOSE: 'yes', PEERS: 'a:1, b:2', SECRET: 's' })).toMatchObject({
      maxLen: 7,
      role: 'gpu',
      verbose: true,
      peers: ['a:1', 'b:2'],
      secret: 's',
    });
  });

  it('refuses a bad value with a message naming the variable, the value and what is allowed', () => {
    expect(() => readConfig(spec, { FEATURE_SERVER_ADDR: 'localhost' })).toThrow(
      'FEATURE_SERVER_ADDR="localhost": expected host:port, e.g. 0.0.0.0:50051 (port 0..65535); allowed: host:port, e.g. 0.0.0.0:50051',
    );
    expect(() => readConfig(spec, { MAX_LEN: '0' })).toThrow('MAX_LEN="0": expected an integer in [1, 1000]');
    expect(() => readConfig(spec, { RANKER_ROLE: 'tpu' })).toThrow('RANKER_ROLE="tpu": expected one of router, gpu, cpu');
  });

  it('reports every bad variable at once', () => {
    try {
      readConfig(spec, { MAX_LEN: 'x', VERBOSE: 'maybe' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toHaveLength(2);
    }
  });

  it('lets a --kebab-case flag win over the variable', () => {
    expect(flagName('FEATURE_SERVER_ADDR')).toBe('feature-server-addr');
    expect(readConfig(spec, { MAX_LEN: '5' }, ['--max-len=9', '--ranker-role', 'cpu']).maxLen).toBe(9);
    expect(readConfig(spec, {}, ['--ranker-role', 'cpu']).role).toBe('cpu');
    expect(() => readConfig(spec, {}, ['--max-len=-1'])).toThrow('--max-len="-1"');
  });

  it('requires a variable without a fallback', () => {
    expect(() => readConfig({ db: vars.string('DB_PATH') }, {})).toThrow('DB_PATH=(unset): is required');
  });
});

describe('serverVars / serverOptionsFromConfig', () => {
  it('maps the shared variables to server options, reading admin tokens from a secrets file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'service-kit-config-'));
    try {
      writeFileSync(join(dir, 'tokens'), '# admin tokens\nt1\n\nt2\n');
      const c = readConfig(serverVars('EMBEDDING_STORE', { address: '0.0.0.0:50052', metricsAddress: '0.0.0.0:51052' }), {
        PINRANK_ADMIN_TOKENS_FILE: join(dir, 'tokens'),
        PINRANK_ADMIN_TOKENS: 't0',
        PINRANK_SHUTDOWN_TIMEOUT_MS: '2000',
      });
      expect(serverOptionsFromConfig(c)).toMatchObject({
        address: '0.0.0.0:50052',
        metricsAddress: '0.0.0.0:51052',
        admin: { tokens: ['t0', 't1', 't2'] },
        shutdownTimeoutMs: 2000,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a missing TLS file and half a TLS pair', () => {
    const v = serverVars('X', { address: '0.0.0.0:1', metricsAddress: '0.0.0.0:2' });
    expect(() => readConfig(v, { PINRANK_TLS_CERT_FILE: '/no/such.crt' })).toThrow('PINRANK_TLS_CERT_FILE="/no/such.crt": no such file');
    const c = readConfig(v, { PINRANK_TLS_CERT_FILE: __filename });
    expect(() => serverOptionsFromConfig(c)).toThrow('PINRANK_TLS_CERT_FILE and PINRANK_TLS_KEY_FILE must be set together');
  });
});
