import assert from "node:assert/strict";
import { ensureIslands, islandNames, islandSourceHash } from "../scripts/build.ts";

const ISLANDS = new URL("../islands/", import.meta.url);

Deno.test("islands import only from islands/ and packages, so the build's source hash covers them", async () => {
  for await (const entry of Deno.readDir(ISLANDS)) {
    const text = await Deno.readTextFile(new URL(entry.name, ISLANDS));
    for (const [, specifier] of text.matchAll(/\bfrom\s+"([^"]+)"/g)) {
      const local = specifier!.startsWith("./") && !specifier!.slice(2).includes("/");
      const bare = !specifier!.startsWith(".") && !specifier!.startsWith("/");
      assert.ok(local || bare, `${entry.name} imports "${specifier}" from outside islands/`);
    }
  }
});

Deno.test("islands are PascalCase files with one default-exported component", async () => {
  const names = await islandNames();
  assert.ok(names.length >= 2);
  for (const name of names) {
    const text = await Deno.readTextFile(new URL(`${name}.tsx`, ISLANDS));
    assert.equal(text.match(/export default function/g)?.length, 1, name);
  }
});

Deno.test("ensureIslands() builds a manifest of the current sources, with every island", async () => {
  const manifest = await ensureIslands();
  assert.equal(manifest.source_hash, await islandSourceHash());
  assert.deepEqual(Object.keys(manifest.islands).sort(), (await islandNames()).sort());
  for (const file of manifest.files) {
    assert.match(file, /^([A-Z][A-Za-z0-9]*\.[0-9a-f]{12}|chunk-[A-Z0-9]+)\.js$/);
  }
});
