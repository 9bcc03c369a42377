const preset = require('../../jest.preset.cjs');

module.exports = { ...preset, displayName: 'sim', rootDir: __dirname };
