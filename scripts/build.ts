/**
 * Bundles every island (`islands/<Name>.tsx`) for the browser with
 * `deno bundle --platform=browser --minify --code-splitting` into content-hashed files in
 * `static/build/` (`<Name>.<hash>.js`, shared `chunk-<hash>.js`) and writes
 * `static/build/manifest.json`, which maps each island to its file.
 *
 * The manifest records a hash of the island sources (every file under `islands/`, deno.json,
 * deno.lock, this script and the Deno version): {@linkcode ensureIslands} rebuilds only when
 * it is missing or stale, so `deno task start` and `deno task test` work on a fresh clone
 * without a build step, and a start after a change rebuilds in well under a second. Islands
 * import only from `islands/` and npm packages (tests/islands_test.ts holds that), so the
 * hash covers everything they bundle.
 *
 * @module
 */
import { sha256Hex } from "../core/digest.ts";

/** What the build wrote: the source hash it was built from and each island's file. */
export interface IslandManifest {
  source_hash: string;
  /** Island name → file name in static/build/. */
  islands: Record<string, string>;
  /** Every file the islands load (entries and shared chunks). */
  files: string[];
}

const ROOT = new URL("..", import.meta.url);
const MANIFEST = "manifest.json";

/** Island entry files: `islands/<PascalCase>.tsx`; `_`-prefixed modules are their helpers. */
const ISLAND_FILE = /^([A-Z][A-Za-z0-9]*)\.tsx$/;

async function filesUnder(dir: URL): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile) found.push(entry.name);
      else if (entry.isDirectory) {
        for (const inner of await filesUnder(new URL(`${entry.name}/`, dir))) {
          found.push(`${entry.name}/${inner}`);
        }
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found.sort();
}

/** The islands' names, from `islands/<Name>.tsx`. */
export async function islandNames(root: URL = ROOT): Promise<string[]> {
  return (await filesUnder(new URL("islands/", root)))
    .map((name) => ISLAND_FILE.exec(name)?.[1])
    .filter((name): name is string => name !== undefined);
}

/** A hash of everything the bundles are built from. */
export async function islandSourceHash(root: URL = ROOT): Promise<string> {
  const parts: string[] = [Deno.version.deno];
  for (const name of await filesUnder(new URL("islands/", root))) {
    parts.push(`islands/${name}`, await Deno.readTextFile(new URL(`islands/${name}`, root)));
  }
  for (const name of ["deno.json", "deno.lock", "scripts/build.ts"]) {
    parts.push(name, await Deno.readTextFile(new URL(name, root)).catch(() => ""));
  }
  return sha256Hex(parts.join("\u0000")).slice(0, 32);
}

/** The manifest in static/build/, or null when there is none. */
export async function readManifest(root: URL = ROOT): Promise<IslandManifest | null> {
  try {
    return JSON.parse(await Deno.readTextFile(new URL(`static/build/${MANIFEST}`, root)));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof SyntaxError) return null;
    throw error;
  }
}

/** Bundles every island now, whatever the manifest says. */
export async function buildIslands(root: URL = ROOT): Promise<IslandManifest> {
  const names = await islandNames(root);
  const sourceHash = await islandSourceHash(root);
  const outDir = new URL("static/build/", root);
  await Deno.mkdir(outDir, { recursive: true });
  const work = await Deno.makeTempDir({ dir: outDir.pathname, prefix: ".build-" });
  try {
    const entries = names.map((name) => {
      const path = `${work}/entries/${name}.ts`;
      const island = new URL(`islands/${name}.tsx`, root).pathname;
      const hydrate = new URL("islands/_hydrate.ts", root).pathname;
      return {
        name,
        path,
        text: `import { hydrateIsland } from ${JSON.stringify(hydrate)};\n` +
          `import Island from ${JSON.stringify(island)};\n` +
          `hydrateIsland(${JSON.stringify(name)}, Island);\n`,
      };
    });
    await Deno.mkdir(`${work}/entries`, { recursive: true });
    for (const entry of entries) await Deno.writeTextFile(entry.path, entry.text);
    const islands: Record<string, string> = {};
    const files: string[] = [];
    if (entries.length) {
      const result = await new Deno.Command(Deno.execPath(), {
        args: [
          "bundle",
          "--quiet",
          "--config",
          new URL("deno.json", root).pathname,
          "--platform=browser",
          "--minify",
          "--code-splitting",
          "--format=esm",
          "--outdir",
          `${work}/out`,
          ...entries.map((e) => e.path),
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!result.success) {
        throw new Error(
          `Cannot bundle the islands (${names.join(", ")}):\n${
            new TextDecoder().decode(result.stderr)
          }`,
        );
      }
      for await (const file of Deno.readDir(`${work}/out`)) {
        const text = await Deno.readTextFile(`${work}/out/${file.name}`);
        const island = /^([A-Z][A-Za-z0-9]*)\.js$/.exec(file.name)?.[1];
        // Chunks are named by esbuild from their content; entries get a hash of theirs.
        const target = island ? `${island}.${sha256Hex(text).slice(0, 12)}.js` : file.name;
        await Deno.rename(`${work}/out/${file.name}`, new URL(target, outDir));
        if (island) islands[island] = target;
        files.push(target);
      }
    }
    const manifest: IslandManifest = { source_hash: sourceHash, islands, files: files.sort() };
    // Written whole then renamed, so a concurrent reader never sees half a manifest.
    await Deno.writeTextFile(`${work}/${MANIFEST}`, JSON.stringify(manifest, null, 2) + "\n");
    await Deno.rename(`${work}/${MANIFEST}`, new URL(MANIFEST, outDir));
    return manifest;
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/** The manifest, rebuilding the islands first when it is missing or stale. */
export async function ensureIslands(root: URL = ROOT): Promise<IslandManifest> {
  const manifest = await readManifest(root);
  if (manifest && manifest.source_hash === await islandSourceHash(root)) {
    const present = await Promise.all(
      manifest.files.map((file) =>
        Deno.stat(new URL(`static/build/${file}`, root)).then(() => true, () => false)
      ),
    );
    if (present.every(Boolean)) return manifest;
  }
  return await buildIslands(root);
}

if (import.meta.main) {
  const manifest = await buildIslands();
  const names = Object.keys(manifest.islands);
  console.log(`Bundled ${names.length} island(s) into static/build/: ${names.join(", ")}`);
}
