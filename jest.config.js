const jestJupyterLab = require('@jupyterlab/testing/lib/jest-config');

// ES modules shipped untranspiled by JupyterLab's dependencies: Jest must
// transform them too.
const esModules = [
  '@codemirror',
  '@jupyter/react-components',
  '@jupyter/web-components',
  '@jupyter/ydoc',
  '@microsoft/fast-',
  'exenv-es6',
  'lib0',
  'nanoid',
  'vscode-ws-jsonrpc',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

const baseConfig = jestJupyterLab(__dirname);

module.exports = {
  ...baseConfig,
  automock: false,
  collectCoverageFrom: [
    'src/**/*.{ts,tsx}',
    '!src/**/*.d.ts',
    '!src/**/.ipynb_checkpoints/*'
  ],
  coverageReporters: ['lcov', 'text'],
  reporters: ['default'],
  testRegex: 'src/.*/.*.spec.ts[x]?$',
  testPathIgnorePatterns: [
    '/node_modules/',
    '/lib/',
    '<rootDir>/jupyter_cloudlab/labextension/',
    '<rootDir>/ui-tests/'
  ],
  modulePathIgnorePatterns: [
    '<rootDir>/jupyter_cloudlab/labextension/',
    '<rootDir>/ui-tests/'
  ],
  transformIgnorePatterns: [`/node_modules/(?!${esModules}).+`]
};
