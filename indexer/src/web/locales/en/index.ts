/** English: the reference catalog. Every page's strings, one file per page. */
import { common } from "./common.js";
import { consoleMessages } from "./console.js";

export const en = { common, console: consoleMessages };
