import type { Catalog } from "../../i18n.js";

export const common: Record<keyof Catalog["common"], string> = {
  language: "语言",
  close: "关闭",
  copy: "复制",
  copied: "已复制",
};
