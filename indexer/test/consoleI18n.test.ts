import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { LOCALES, messagesFor } from "../src/web/i18n.js";

const CONSOLE_DIR = path.resolve(import.meta.dirname, "../src/console");
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("console catalogs", () => {
  it("every language has every console string, with the same {placeholders} as English, and translates it", () => {
    const en = messagesFor("en", "console") as Record<string, string>;
    for (const locale of LOCALES) {
      const own = messagesFor(locale, "console") as Record<string, string>;
      assert.deepEqual(Object.keys(own).sort(), Object.keys(en).sort(), locale);
      for (const [key, text] of Object.entries(own)) {
        assert.ok(text.trim(), `${locale} ${key} is empty`);
        assert.deepEqual(placeholders(text), placeholders(en[key]!), `${locale} ${key}: placeholders differ from English`);
      }
    }
    const zh = messagesFor("zh-CN", "console") as Record<string, string>;
    const same = Object.keys(en).filter((k) => en[k] === zh[k] && /[a-z]{3}/.test(en[k]!));
    assert.ok(same.length <= 4, `zh-CN leaves these in English: ${same.join(", ")}`);
  });

  it("every key the script asks for exists (js.*), and every message key the routes raise exists", () => {
    const en = messagesFor("en", "console") as Record<string, string>;
    const script = readFileSync(path.join(CONSOLE_DIR, "assets/console.js"), "utf8");
    for (const [, key] of script.matchAll(/t\("(js\.[A-Za-z]+)"/g)) assert.ok(en[key!], `console.js asks for ${key}`);
    const files = ["", "routes"].flatMap((d) =>
      readdirSync(path.join(CONSOLE_DIR, d))
        .filter((f) => f.endsWith(".ts"))
        .map((f) => path.join(CONSOLE_DIR, d, f)),
    );
    for (const f of files) {
      for (const [, key] of readFileSync(f, "utf8").matchAll(/ConsoleError\(\d{3}, "([a-zA-Z.]+)"/g))
        assert.ok(en[key!], `${path.basename(f)} raises ${key}`);
    }
    for (const reason of ["malformed", "domain", "uri", "chain", "expired", "issued_at", "nonce", "signature", "rpc"])
      assert.ok(en[`signin.bad.${reason}`]);
  });
});
