const preset = require('../../jest.preset.cjs');

module.exports = { ...preset, displayName: 'models', rootDir: __dirname };
