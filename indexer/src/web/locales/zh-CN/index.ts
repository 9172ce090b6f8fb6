/** Simplified Chinese. Keys as in `../en/`; a missing key shows the English text. */
import type { PartialCatalog } from "../../i18n.js";
import { common } from "./common.js";

export const zhCN = { common } satisfies PartialCatalog;
