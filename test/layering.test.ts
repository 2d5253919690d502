/**
 * The layers import only what they may (DESIGN.md): the emulator knows no kernel, the kernel knows
 * no emulator, and neither (nor boot/) imports Node, so all three run in a browser.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = new URL("..", import.meta.url).pathname;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const p = join(dir, name);
    if (statSync(join(ROOT, p)).isDirectory()) out.push(...sources(p));
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(/^\s*(?:import|export)\s[^"']*?from\s+["']([^"']+)["']/gm)].map((m) => m[1]!);
}

/** The top folder an import lands in, resolved against the importing file. */
function layerOf(file: string, spec: string): string {
  if (!spec.startsWith(".")) return spec.startsWith("node:") ? "node" : `package:${spec}`;
  const target = relative(ROOT, join(ROOT, file, "..", spec));
  return target.split("/")[0]!;
}

const RULES: Record<string, string[]> = {
  emulator: ["emulator"],
  kernel: ["kernel"],
  boot: ["boot", "emulator", "kernel"],
};

describe.each(Object.entries(RULES))("%s/", (layer, allowed) => {
  it(`imports only from ${allowed.join(", ")} (no Node, no other layer)`, () => {
    const bad: string[] = [];
    for (const f of sources(layer)) {
      for (const spec of imports(f)) {
        const l = layerOf(f, spec);
        if (!allowed.includes(l)) bad.push(`${f} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
