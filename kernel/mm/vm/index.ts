/** Virtual memory: architecture-neutral address spaces over an {@link ArchPaging} row. */
export * from "./address-space.js";
export * from "./arch.js";
export * from "./errors.js";
export * from "./flush.js";
export * from "./results.js";
