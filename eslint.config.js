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
  // chai's property assertions (`expect(x).to.be.properAddress`) are expressions by design
  { files: ["test/**/*.ts"], rules: { "@typescript-eslint/no-unused-expressions": "off" } },
  // the payment page's and the console's scripts run in the browser
  { files: ["indexer/src/web/assets/**/*.js", "indexer/src/console/assets/**/*.js"], languageOptions: { globals: { ...globals.browser } } },
);
