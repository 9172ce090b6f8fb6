import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { interpolate, matchLocale, messagesFor, negotiateLocale, translator } from "../src/web/i18n.js";

describe("i18n", () => {
  it("picks the best Accept-Language entry by q-value, then order", () => {
    assert.equal(negotiateLocale("fr-FR,fr;q=0.9,zh-CN;q=0.8,en;q=0.7"), "zh-CN");
    assert.equal(negotiateLocale("en;q=0.4, zh;q=0.6"), "zh-CN");
    assert.equal(negotiateLocale("zh-Hans-CN, en"), "zh-CN");
    assert.equal(negotiateLocale("de-DE, ja;q=0.5"), "en");
    assert.equal(negotiateLocale("zh-CN;q=0, en"), "en");
    assert.equal(negotiateLocale(undefined), "en");
  });

  it("an explicit supported choice wins over the header; an unsupported one is ignored", () => {
    assert.equal(negotiateLocale("en", "zh-CN"), "zh-CN");
    assert.equal(negotiateLocale("zh-CN", "en"), "en");
    assert.equal(negotiateLocale("zh-CN", "klingon"), "zh-CN");
    assert.equal(matchLocale("zh-TW"), undefined);
  });

  it("fills placeholders and leaves unknown ones as written", () => {
    assert.equal(interpolate("Pay {amount} {symbol}", { amount: "1.5", symbol: "USDT" }), "Pay 1.5 USDT");
    assert.equal(interpolate("{missing} stays", {}), "{missing} stays");
  });

  it("every catalog has the English keys, and translates them", () => {
    const en = messagesFor("en", "common");
    const zh = messagesFor("zh-CN", "common");
    assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
    assert.notEqual(zh.copy, en.copy);
    assert.equal(translator("zh-CN", "common")("copied"), "已复制");
  });
});
