/**
 * ESLint for the TypeScript of server/src, test, bench and client/src: ESLint's recommended rules
 * and typescript-eslint's recommended type-checked ones (the type-aware rules catch floating
 * promises and unsafe `any`, which plain ESLint cannot see). Formatting is Prettier's job
 * (.prettierrc); no rule here is about layout. Import boundaries are dependency-cruiser's job
 * (.dependency-cruiser.cjs, `npm run boundaries`).
 *
 * A rule is turned off or adjusted only where it fights the stack or an intentional pattern, and
 * says why next to it; everything else is fixed in the code.
 */
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Node's globals, for the few plain-JavaScript files (configs, jest's global setup). */
const nodeGlobals = Object.fromEntries(
  ['console', 'process', 'module', 'require', '__dirname', 'URL', 'setTimeout', 'clearTimeout', 'Buffer'].map(
    (name) => [name, 'readonly'],
  ),
);

export default defineConfig([
  globalIgnores([
    'client/src/graphql/generated/', // written by graphql-codegen
    '**/dist/', // tsc's and Vite's build output (server/dist, client/dist)
    'data/',
    'coverage/',
    'test-output/',
    'tmp/',
    '.tmp/',
    'bench/results/',
  ]),
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // Each file is checked with the tsconfig that builds it: tsconfig.json (server, test,
        // bench: NodeNext, decorators) or client/tsconfig.json (Vite, DOM, JSX).
        projectService: { allowDefaultProject: ['client/vite.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Unused names are errors, except the ones named `_` on purpose (a skipped tuple element or
      // an argument a signature requires) and the rest siblings of a destructuring that drops keys.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Off: an `async` function without `await` is how we implement a Promise-returning port
      // (in-memory storage, fakes, injected defaults such as `async () => null`): a throw inside
      // becomes a rejection, which is what callers of the port handle. Dropping `async` would turn
      // those throws into synchronous exceptions.
      '@typescript-eslint/require-await': 'off',
      // Static methods are exempt: every GraphQL object type has a `static from(entity)` factory
      // that never uses `this`, and `items.map(BackupRun.from)` is the idiom (type-graphql's
      // examples do the same). Instance methods passed around unbound are still errors.
      '@typescript-eslint/unbound-method': ['error', { ignoreStatic: true }],
      // React event props (`onClick={async () => …}`, `onSubmit={submit}`) ignore the handler's
      // promise by design; the handlers catch and show their own errors. Everywhere else a promise
      // passed where nothing awaits it is still an error.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
    },
  },
  {
    // Tests and the benchmark read GraphQL responses, GitLab simulator payloads and SQL rows as
    // untyped JSON and check them with expect(): the assertion is the check, and a cast on every
    // response would add noise that proves nothing. Server and client code keep these rules.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // The same decision, written down: `any` (GraphQLResult<T = any>, JSON payloads) is how a
      // test says "untyped answer, checked by expect() below".
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: nodeGlobals },
  },
]);
