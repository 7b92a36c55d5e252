/**
 * Imports point one way: routes/ → lib/ → connectors/ → core/ (docs/architecture.md).
 * Test files may import across layers.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** Folders each layer may import from, besides itself and npm packages. */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  connectors: ["core"],
  lib: ["connectors", "core"],
  // The dashboard: islands run in the browser and import only each other (and packages);
  // server components render with lib's data; the island build script needs core's digest.
  islands: [],
  scripts: ["core"],
  components: ["islands", "scripts", "lib", "connectors", "core"],
  routes: ["components", "islands", "scripts", "lib", "connectors", "core"],
};

function* sourceFiles(dir: URL): Generator<URL> {
  for (const entry of Deno.readDirSync(dir)) {
    const url = new URL(entry.isDirectory ? `${entry.name}/` : entry.name, dir);
    if (entry.isDirectory) yield* sourceFiles(url);
    else if (/\.tsx?$/.test(entry.name) && !/_test\.tsx?$/.test(entry.name)) yield url;
  }
}

function layerOf(url: URL): string {
  return url.pathname.slice(ROOT.pathname.length).split("/")[0] ?? "";
}

const IMPORT = /(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g;

for (const [layer, allowed] of Object.entries(ALLOWED)) {
  Deno.test(`${layer}/ imports only from ${[layer, ...allowed].join(", ")}`, () => {
    const wrong: string[] = [];
    for (const file of sourceFiles(new URL(`${layer}/`, ROOT))) {
      const text = Deno.readTextFileSync(file);
      for (const [, spec] of text.matchAll(IMPORT)) {
        const target = layerOf(new URL(spec!, file));
        if (target !== layer && !allowed.includes(target)) {
          wrong.push(`${file.pathname.slice(ROOT.pathname.length)} → ${spec}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
  });
}
