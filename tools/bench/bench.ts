/** Benchmarks (placeholder). */
export {};
