/** English: the reference catalog. Every page's strings, one file per page. */
import { common } from "./common.js";
import { consoleMessages } from "./console.js";
import { pay } from "./pay.js";

export const en = { common, pay, console: consoleMessages };
