import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { InvalidAmountError } from "../src/domain/errors.js";
import { MAX_UINT256, formatAmount, parseAmount, parseBaseUnits } from "../src/domain/money.js";

describe("money", () => {
  it("parses human amounts exactly", () => {
    assert.equal(parseAmount("12.50", 6), 12_500_000n);
    assert.equal(parseAmount("0.000001", 6), 1n);
    assert.equal(parseAmount("1", 18), 10n ** 18n);
    assert.equal(parseAmount("0.1", 18), 10n ** 17n);
    assert.equal(parseAmount("7", 0), 7n);
    assert.equal(parseAmount("1.2300", 2), 123n, "trailing zeros beyond the decimals are harmless");
  });

  it("refuses negatives, too many decimals, exponents and junk", () => {
    for (const bad of ["-1", "1.0000001", "1e6", " 1", "1.", ".5", "01", "0x10", "", "1,5", "NaN", "+1"]) {
      assert.throws(() => parseAmount(bad, 6), InvalidAmountError, bad);
    }
    assert.throws(() => parseAmount((MAX_UINT256 + 1n).toString(), 0), /uint256/);
    assert.throws(() => parseBaseUnits("-5"), InvalidAmountError);
    assert.equal(parseBaseUnits("12500000"), 12_500_000n);
  });

  it("formats back, trimming zeros", () => {
    assert.equal(formatAmount(12_500_000n, 6), "12.5");
    assert.equal(formatAmount(1n, 18), "0.000000000000000001");
    assert.equal(formatAmount(0n, 6), "0");
    assert.equal(formatAmount(5n, 0), "5");
    assert.throws(() => formatAmount(-1n, 6));
  });

  it("format then parse is the identity (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_UINT256 }), fc.integer({ min: 0, max: 30 }), (v, d) => {
        assert.equal(parseAmount(formatAmount(v, d), d), v);
      }),
    );
  });
});
