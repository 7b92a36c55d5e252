/**
 * Development entry: rebuilds the islands when their sources changed, then runs the server.
 * The `dev` task restarts this on every change under core/, lib/, routes/, connectors/,
 * islands/, components/ and the stylesheet, so an edited island is rebuilt on save.
 */
import { ensureIslands } from "./scripts/build.ts";
import { main } from "./main.ts";

await ensureIslands();
await main();
