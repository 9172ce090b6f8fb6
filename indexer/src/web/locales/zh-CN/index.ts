/** Simplified Chinese. Keys as in `../en/`; a missing key shows the English text. */
import type { PartialCatalog } from "../../i18n.js";
import { common } from "./common.js";
import { consoleMessages } from "./console.js";
import { pay } from "./pay.js";

export const zhCN = { common, pay, console: consoleMessages } satisfies PartialCatalog;
