// `npm run lint` (with solhint for contracts/). typescript-eslint's recommended rules over every TypeScript
// and JavaScript file of the repository; generated and installed code is ignored.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "dist/",
      "sdk/dist/",
      "artifacts/",
      "cache/",
      "coverage/",
      "typechain-types/",
      "test-results/",
      "bench/results/",
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // ABI-shaped and driver values are typed loosely on purpose in a few places
      "@typescript-eslint/no-explicit-any": "warn",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "no-empty": ["error", { allowEmptyCatch: true }],
    },
  },
  // the payment page's script runs in the payer's browser
  { files: ["indexer/src/web/assets/**/*.js"], languageOptions: { globals: { ...globals.browser } } },
);
