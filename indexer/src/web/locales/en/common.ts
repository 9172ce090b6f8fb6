/** Strings every page shares. */
export const common = {
  language: "Language",
  close: "Close",
  copy: "Copy",
  copied: "Copied",
};
