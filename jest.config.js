/** Jest in native ESM mode (see ../shared/SETUP.md): swc strips types and keeps decorator metadata. */
const swcOptions = {
  jsc: {
    target: 'es2022',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    keepClassNames: true,
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};

export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['@swc/jest', swcOptions] },
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  // A safety net against a hung test, not a schedule: tests await events (test/support/timeouts.ts
  // gives those waits their own, shorter net so their failure says what was awaited).
  testTimeout: 10 * 60_000,
  maxWorkers: 2,
  workerIdleMemoryLimit: '700MB',
};
