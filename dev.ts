/** Development entry: bundles the islands, then runs the server (the `dev` task restarts it on change). */
import { buildIslands } from "./scripts/build.ts";
import { main } from "./main.ts";

await buildIslands();
await main();
