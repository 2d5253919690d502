// Bundles the command line, the library entry and the benchmark into dist/ with esbuild,
// so `multios` runs with plain `node` after `npm install` (run by the `prepare` script).
import { build } from "esbuild";

const common = { bundle: true, platform: "node", format: "esm", target: "node20", sourcemap: true, logLevel: "warning" };
await build({ ...common, entryPoints: { cli: "tools/cli.ts", index: "index.ts", bench: "tools/bench/bench.ts" }, outdir: "dist" });
