#!/usr/bin/env node
// Launcher for the bundled command line (built into dist/ by `npm install`/`npm run build`).
import { main } from "../dist/cli.js";
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
