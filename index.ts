/** MultiOS library API. */
export * from "./emulator/core/memory.js";
