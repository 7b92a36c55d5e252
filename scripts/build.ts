/**
 * Bundles every island (`islands/*.tsx`) for the browser into `static/build/` with
 * `deno bundle`. Run by `deno task build` and by dev.ts on start.
 */
export async function buildIslands(root = new URL("..", import.meta.url)): Promise<string[]> {
  const islandsDir = new URL("islands/", root);
  const outDir = new URL("static/build/", root);
  const islands: string[] = [];
  try {
    for await (const entry of Deno.readDir(islandsDir)) {
      if (entry.isFile && /\.(tsx|ts)$/.test(entry.name)) islands.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(outDir, { recursive: true });
  for (const name of islands) {
    const output = new URL(name.replace(/\.tsx?$/, ".js"), outDir);
    const result = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--platform=browser",
        "--minify",
        "--output",
        output.pathname,
        new URL(name, islandsDir).pathname,
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!result.success) throw new Error(`Cannot bundle island "${name}"`);
  }
  return islands;
}

if (import.meta.main) {
  const built = await buildIslands();
  console.log(`Bundled ${built.length} island(s) into static/build/`);
}
