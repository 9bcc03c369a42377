// Shared jest settings for every project: SWC transform, the ONNX Runtime-safe
// environment, and @pinrank/* imports resolved to library sources (a library's
// front page src/index.ts, and src/internal.ts as @pinrank/<lib>/internal; the
// same mapping as tsconfig.base.json's paths and each library's package.json exports).
const path = require('node:path');

const root = __dirname;
const libs = ['proto', 'contracts', 'service-kit', 'telemetry', 'sim', 'models', 'features', 'inference', 'redis', 'nats'];

module.exports = {
  testEnvironment: path.join(root, 'tools/jest/ort-environment.cjs'),
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' }, sourceMaps: 'inline' },
    ],
  },
  moduleFileExtensions: ['ts', 'js', 'cjs', 'json'],
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  moduleNameMapper: {
    ...Object.fromEntries(libs.map((l) => [`^@pinrank/${l}$`, path.join(root, `libs/${l}/src/index.ts`)])),
    '^@pinrank/([a-z-]+)/internal$': path.join(root, 'libs/$1/src/internal.ts'),
    '^@pinrank/train$': path.join(root, 'tools/train/src/index.ts'),
    // Test-only entry points (contract suites shared by a service and its fakes).
    '^@pinrank/contracts/testing$': path.join(root, 'libs/contracts/src/testing/index.ts'),
    '^@pinrank/redis/testing$': path.join(root, 'libs/redis/src/testing/index.ts'),
    '^@pinrank/nats/testing$': path.join(root, 'libs/nats/src/testing/index.ts'),
  },
  testTimeout: 60000,
};
