const preset = require('../../jest.preset.cjs');

module.exports = { ...preset, displayName: 'redis', rootDir: __dirname };
