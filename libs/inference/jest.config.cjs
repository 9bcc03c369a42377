const preset = require('../../jest.preset.cjs');

module.exports = { ...preset, displayName: 'inference', rootDir: __dirname };
