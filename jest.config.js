// ts-jest compiles the suites; it needs TypeScript's compiler API, which TypeScript 7 (the Go
// port) no longer has, so package.json pins typescript ~5.9. isolatedModules skips per-file type
// checks for speed; `npm run typecheck` type-checks lib and tests together.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json', isolatedModules: true }] },
  testTimeout: 120000,
};
