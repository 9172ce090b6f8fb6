/** Simplified Chinese. Keys as in `../en/`; a missing key shows the English text. */
import type { PartialCatalog } from "../../i18n.js";
import { common } from "./common.js";
import { consoleMessages } from "./console.js";

export const zhCN = { common, console: consoleMessages } satisfies PartialCatalog;
