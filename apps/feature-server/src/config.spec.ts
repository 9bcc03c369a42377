import { readFeatureServerConfig } from './config';

describe('feature-server configuration', () => {
  it('reads sequences through the fast path unless told otherwise, and names a bad value', () => {
    expect(readFeatureServerConfig({}, []).readFastPath).toBe(true);
    expect(readFeatureServerConfig({ FEATURE_SERVER_READ_FAST_PATH: 'false' }, []).readFastPath).toBe(false);
    expect(readFeatureServerConfig({}, ['--feature-server-read-fast-path', 'false']).readFastPath).toBe(false);
    expect(() => readFeatureServerConfig({ FEATURE_SERVER_READ_FAST_PATH: 'sometimes' }, [])).toThrow(/FEATURE_SERVER_READ_FAST_PATH/);
  });

  it('keeps Redis sequences in the ids layout unless told otherwise, and names a bad layout', () => {
    expect(readFeatureServerConfig({}, []).redisLayout).toBe('ids');
    expect(readFeatureServerConfig({ FEATURE_SERVER_REDIS_LAYOUT: 'records' }, []).redisLayout).toBe('records');
    expect(() => readFeatureServerConfig({ FEATURE_SERVER_REDIS_LAYOUT: 'rows' }, [])).toThrow(/FEATURE_SERVER_REDIS_LAYOUT/);
  });
});
