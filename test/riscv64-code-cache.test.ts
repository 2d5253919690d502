/**
 * The riscv64 decode cache's per-bucket count of decoded pages: a RAM write skips the harts' checks
 * only for pages that certainly hold no decoded instructions (riscv64-native.test.ts checks that a
 * native entry's write over code is still seen by the next fetch).
 */
import { describe, expect, it } from "vitest";
import { CodeCache } from "../emulator/arch/riscv64/code-cache.js";
import { DecodedPage } from "../emulator/arch/riscv64/decode.js";

describe("the decode cache's page buckets", () => {
  it("say a page may hold decoded instructions exactly while some page of its bucket does", () => {
    const c = new CodeCache();
    const a = 0x80010, b = a + 4096; // same bucket (page number mod 4096)
    expect(c.mayHoldDecoded(a)).toBe(false);
    c.addDecoded(a, new DecodedPage());
    c.addDecoded(b, new DecodedPage());
    expect([c.mayHoldDecoded(a), c.mayHoldDecoded(b), c.mayHoldDecoded(a + 1)]).toEqual([true, true, false]);
    expect(c.dropDecoded(a)).toBe(true);
    expect(c.dropDecoded(a)).toBe(false);
    expect(c.mayHoldDecoded(a)).toBe(true);
    c.dropDecoded(b);
    expect(c.mayHoldDecoded(a)).toBe(false);
  });
});
