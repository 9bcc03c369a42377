const preset = require('../jest.preset.cjs');

module.exports = { ...preset, displayName: 'deploy', rootDir: __dirname, testTimeout: 120000 };
