/** The kernel heap allocators; see each file for its format in RAM and its costs. */
export { GlobalAllocator, HeapError, type GlobalAllocatorOptions, type HeapStats, type OwnerUsage } from "./global.js";
export { PoolAllocator, type PoolOptions, type PoolStats } from "./pool.js";
export { BumpAllocator, type BumpOptions } from "./bump.js";
export { allocateSlice, hasDirectBytes, type DirectBytes, type ElementSize, type KernelSlice } from "./views.js";
export { POISON } from "./common.js";
