// Bundles the command line, the library entry and the benchmark into dist/ with esbuild,
// so `multios` runs with plain `node` after `npm install` (run by the `prepare` script).
import { readFile } from "node:fs/promises";
import { resolve, dirname } from "node:path";
import { build } from "esbuild";

/** `import text from "./file?raw"`: the file's contents as a string (as Vite does in tests). */
const rawText = {
  name: "raw-text",
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (a) => ({ path: resolve(dirname(a.importer), a.path.slice(0, -4)), namespace: "raw" }));
    b.onLoad({ filter: /.*/, namespace: "raw" }, async (a) => ({ contents: await readFile(a.path, "utf8"), loader: "text" }));
  },
};

const common = { bundle: true, platform: "node", format: "esm", target: "node20", sourcemap: true, logLevel: "warning", plugins: [rawText] };
await build({ ...common, entryPoints: { cli: "tools/cli.ts", index: "index.ts", bench: "tools/bench/bench.ts", "campaign-worker": "tools/campaign/worker.ts" }, outdir: "dist" });
