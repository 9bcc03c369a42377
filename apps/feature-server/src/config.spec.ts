import { readFeatureServerConfig } from './config';

describe('feature-server configuration', () => {
  it('reads sequences through the fast path unless told otherwise, and names a bad value', () => {
    expect(readFeatureServerConfig({}, []).readFastPath).toBe(true);
    expect(readFeatureServerConfig({ FEATURE_SERVER_READ_FAST_PATH: 'false' }, []).readFastPath).toBe(false);
    expect(readFeatureServerConfig({}, ['--feature-server-read-fast-path', 'false']).readFastPath).toBe(false);
    expect(() => readFeatureServerConfig({ FEATURE_SERVER_READ_FAST_PATH: 'sometimes' }, [])).toThrow(/FEATURE_SERVER_READ_FAST_PATH/);
  });
});
