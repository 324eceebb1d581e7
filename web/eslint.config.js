// ESLint (flat config): typescript-eslint's type-aware recommended rules and
// React's hook rules for the app, plain recommended rules for the Node
// scripts of the end-to-end test. `npm run lint`; `make test` runs it through
// scripts/web-test.sh.

import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "src/api/schema.d.ts"] },
  {
    files: ["src/**/*.{ts,tsx}", "vite.config.ts"],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      ecmaVersion: 2022,
      globals: globals.browser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    files: ["src/**/*.{ts,tsx}"],
    extends: [reactHooks.configs.flat.recommended],
    rules: {
      // A missing dependency is a stale-closure bug: an error, not a warning.
      // useAsync(load, deps) takes effect-style dependencies, checked the same way.
      "react-hooks/exhaustive-deps": ["error", { additionalHooks: "^useAsync$" }],
      // Off: the pages load data in effects (a request, then setState when it
      // answers), which this rule reports even when every setState comes after
      // an `await` (react/react#34905; the fix is not in 7.1).
      "react-hooks/set-state-in-effect": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["eslint.config.js", "e2e/**/*.mjs"],
    extends: [js.configs.recommended],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      // run.mjs also hands functions to the browser (page.evaluate).
      globals: { ...globals.node, ...globals.browser },
    },
  },
);
