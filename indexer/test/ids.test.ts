import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { newId } from "../src/domain/ids.js";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

describe("ids (ULIDs)", () => {
  it("are 26 Crockford base32 characters whose first 10 encode the time in ms", () => {
    const now = Date.UTC(2026, 11, 3, 7, 30, 0, 123);
    const id = newId(now);
    assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    let t = 0;
    for (const c of id.slice(0, 10)) t = t * 32 + CROCKFORD.indexOf(c);
    assert.equal(t, now);
    assert.ok(newId(now) < newId(now + 1), "later ids sort after earlier ones");
  });

  it("carry 80 random bits: 20,000 ids in one ms are distinct and every random position takes every character", () => {
    const ids = Array.from({ length: 20_000 }, () => newId(1_700_000_000_000));
    assert.equal(new Set(ids).size, ids.length);
    for (let pos = 10; pos < 26; pos++) {
      const seen = new Set(ids.map((id) => id[pos]));
      assert.equal(seen.size, 32, `position ${pos} uses all 32 characters`);
    }
  });
});
