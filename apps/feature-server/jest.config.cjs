const preset = require('../../jest.preset.cjs');

module.exports = { ...preset, displayName: 'feature-server', rootDir: __dirname };
