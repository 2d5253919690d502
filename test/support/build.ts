/** vitest global setup: bundle the CLI into dist/ first, so CLI tests run the current sources. */
import { execFileSync } from "node:child_process";

export default function setup(): void {
  execFileSync(process.execPath, ["tools/build.mjs"], { stdio: "inherit" });
}
