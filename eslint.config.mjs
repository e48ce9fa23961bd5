import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Folder boundaries (docs/ARCHITECTURE.md §3). Each folder is a deployable or a shared library, and may
 * import only the folders below it:
 *   core (pure)  ←  collector, store  ←  member-agent, aggregator, cli  ;  stacks (names, schemas, bundle)
 * Enforced with eslint's own `no-restricted-imports` (no import plugin: those need unrs-resolver, which
 * breaks `npm ci` on these machines).
 */
const folder = (name) => [`../${name}`, `../${name}/*`, `../../${name}`, `../../${name}/*`];
const forbid = (names, message) => ({ group: names.flatMap(folder), message });
const SDK = {
  group: ['@aws-sdk/*', '@aws-lambda-powertools/*', 'aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
  message: 'core is pure: no AWS SDK, Powertools or CDK.',
};
const restrict = (files, patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});

export default tseslint.config(
  {
    ignores: ['node_modules/', 'cdk.out/', 'dist/', 'dist-tsc/', 'out/', 'coverage/', '**/*.js', '**/*.mjs'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  // core: pure domain; imports nothing outside core (core is flat, so any `../` leaves it).
  restrict(
    ['core/**/*.ts'],
    [SDK, { group: ['../*', '../../*'], message: 'core imports nothing outside core.' }],
  ),
  // collector and store: shared libraries over AWS; they build on core only.
  restrict(
    ['collector/**/*.ts'],
    [forbid(['aggregator', 'cli', 'member-agent', 'stacks', 'store'], 'collector builds on core only.')],
  ),
  restrict(
    ['store/**/*.ts'],
    [forbid(['aggregator', 'cli', 'member-agent', 'stacks', 'collector'], 'store builds on core only.')],
  ),
  // Deployables: never import each other.
  restrict(
    ['member-agent/**/*.ts'],
    [forbid(['aggregator', 'cli', 'stacks', 'store'], 'the member agent uses core and collector only.')],
  ),
  restrict(
    ['aggregator/**/*.ts'],
    [forbid(['cli', 'member-agent', 'stacks'], 'the aggregator never imports another deployable.')],
  ),
  restrict(
    ['cli/**/*.ts'],
    [forbid(['aggregator', 'member-agent', 'stacks'], 'the CLI never imports another deployable.')],
  ),
  // stacks: runtime code only for names, schemas and the bundle entry.
  restrict(
    ['stacks/**/*.ts'],
    [
      forbid(
        ['cli', 'collector', 'store'],
        'stacks take runtime code only for names, schemas and the bundle entry.',
      ),
      {
        regex: '^(\\.\\./)+(aggregator|member-agent)/(?!(env|telemetry)$)',
        message: 'stacks may import only the env schemas and telemetry names of a Lambda.',
      },
    ],
  ),
);
