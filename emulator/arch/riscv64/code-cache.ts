/**
 * The decode cache, native entries and fast-store rules the harts of one riscv64 machine share:
 * emulator/core/code-cache.ts's, for RV64 decoded pages and native entries.
 */
import { CodeCache as SharedCode } from "../../core/code-cache.js";
import type { DecodedPage } from "./decode.js";
import type { Hart, NativeEntry } from "./hart.js";

export class CodeCache extends SharedCode<DecodedPage, NativeEntry, Hart> {}
