const preset = require('../../jest.preset.cjs');

module.exports = { ...preset, displayName: 'proto', rootDir: __dirname };
