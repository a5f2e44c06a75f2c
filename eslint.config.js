// ESLint over the whole tree: JavaScript's recommended rules, typescript-eslint's recommended rules (syntax only;
// `npm run typecheck` already runs the compiler) and eslint-plugin-svelte for the components. Formatting is
// Prettier's job (`.prettierrc`), so no stylistic rules here.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';

export default defineConfig(
  {
    ignores: [
      'dist/**',
      'dist-relay/**',
      'wasm/build/**',
      'node_modules/**',
      'coverage/**',
      'test-results/**',
      'bench-results/**',
      '.hygeia/**',
      '.vite/**',
      // AssemblyScript, not TypeScript: top-level decorators (`@inline function`), `load<u8>()` builtins and
      // the i32/u64 value types do not parse as TypeScript or do not mean what the TypeScript rules assume.
      // The AssemblyScript compiler (`npm run build:wasm`) is its checker; wasm/face (TypeScript) is linted.
      'wasm/assembly/**',
    ],
  },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.browser, ...globals.node },
    },
    rules: {
      // The compiler runs with noUncheckedIndexedAccess, so an index read is `T | undefined`; a `!` after a read
      // the surrounding code has just bounded (a loop index, a key known present) is the deliberate way to say so.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `_`-prefixed names are deliberately unused (an interface's parameter, a tuple slot skipped).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'] },
    },
    rules: {
      // As typescript-eslint advises for TypeScript: the compiler (svelte-check) resolves names, including the
      // ambient `fhir4` namespace of @types/fhir and DOM types, which this rule does not know.
      'no-undef': 'off',
    },
  },
);
