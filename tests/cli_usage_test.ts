import assert from "node:assert/strict";
import { cli } from "../cli.ts";
import type { Output } from "../cli/_args.ts";
import { ProgressBar } from "../cli/_progress.ts";

/** Output kept in memory. */
function capture(
  progress = false,
): Output & { stdout: string[]; stderr: string[]; drawn: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const drawn: string[] = [];
  return {
    stdout,
    stderr,
    drawn,
    out: (line) => void stdout.push(line),
    err: (line) => void stderr.push(line),
    ...(progress ? { progress: (text: string) => void drawn.push(text) } : {}),
  };
}

const COMMANDS = [
  ["workspace", "list"],
  ["workspace", "create"],
  ["key", "create"],
  ["key", "list"],
  ["key", "revoke"],
  ["key", "rotate"],
  ["secret", "rotate"],
  ["secret", "status"],
  ["backup"],
  ["restore"],
];

Deno.test("cli() answers --help on every command and group with its usage, exit 0", async () => {
  for (const args of [[], ["workspace"], ["key"], ["secret"]]) {
    for (const flag of ["--help", "-h"]) {
      const output = capture();
      assert.equal(await cli([...args, flag], output), 0, [...args, flag].join(" "));
      assert.match(output.stdout.join("\n"), /^Usage: deno task sluice/);
      assert.deepEqual(output.stderr, []);
    }
  }
  for (const command of COMMANDS) {
    const output = capture();
    // --help wins over anything else on the line, even what would be an error.
    assert.equal(await cli([...command, "--bogus", "--help"], output), 0, command.join(" "));
    const usage = output.stdout.join("\n");
    assert.match(usage, new RegExp(`^Usage: deno task sluice ${command.join(" ")}`));
    assert.match(usage, /-h, --help/);
  }
  const top = capture();
  await cli(["--help"], top);
  for (const command of COMMANDS) {
    assert.match(top.stdout.join("\n"), new RegExp(`\\n  ${command.join(" ")} +\\S`));
  }
});

Deno.test("cli() answers a wrong command line with one error line and a hint, exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [[], /a command is required/],
    [["frobnicate"], /unknown command "frobnicate"/],
    [["key"], /key: an action is required \(create, list, revoke, rotate\)/],
    [["key", "delete"], /unknown command "key delete"/],
    [["workspace", "create"], /--name is required/],
    [["workspace", "create", "--name", "Shop", "--origin", "ftp://x"], /--origin: /],
    [["workspace", "create", "--name"], /option --name <value> argument missing/],
    [["workspace", "list", "--verbose"], /Unknown option '--verbose'/],
    [["workspace", "list", "extra"], /unexpected argument "extra"/],
    [["key", "create", "--workspace", "ws_1", "--name", "n"], /--scope is required/],
    [["key", "create", "--workspace", "ws_1", "--name", "n", "--scope", "root"], /--scope "root"/],
    [["key", "list"], /--workspace is required/],
    [["key", "revoke", "--workspace", "ws_1"], /KEY_ID is required/],
    [["key", "rotate", "--workspace", "ws_1", "key_1", "--overlap", "8d"], /--overlap is longer/],
    [["key", "rotate", "--workspace", "ws_1", "key_1", "--overlap", "soon"], /--overlap: /],
    [["backup"], /--out is required/],
    [["backup", "--out", "-", "--json"], /--json cannot share standard output/],
    [["restore"], /--in is required/],
    [
      ["secret", "rotate", "--old", "old-secret-0123456789", "--new", "tiny"],
      /--new: a secret has/,
    ],
    [
      ["secret", "rotate", "--old", "same-secret-0123456789", "--new", "same-secret-0123456789"],
      /the same/,
    ],
  ];
  for (const [args, message] of cases) {
    const output = capture();
    assert.equal(await cli(args, output), 2, args.join(" "));
    assert.equal(output.stderr.length, 2, `${args.join(" ")}: ${output.stderr.join(" | ")}`);
    assert.match(output.stderr[0]!, /^error: /);
    assert.match(output.stderr[0]!, message, args.join(" "));
    assert.match(output.stderr[1]!, /^hint: .*--help/, args.join(" "));
    assert.deepEqual(output.stdout, []);
  }
});

Deno.test("ProgressBar draws a bar with a total, a count and rate without, and nothing when disabled", () => {
  const output = capture(true);
  const bar = new ProgressBar(output, "Exporting");
  assert.equal(bar.active, true);
  bar.finish(50, 200);
  assert.match(
    output.drawn[0]!,
    /^Exporting \[#{7}-{21}\] {2}25% {2}50 \/ 200 entries {2}\d+\.\d s\n$/,
  );
  const counting = new ProgressBar(output, "Rotating");
  counting.finish(1234);
  assert.match(output.drawn[1]!, /^Rotating {2}1,234 entries {2}[\d,…]+\/s {2}\d+\.\d s\n$/);
  const off = new ProgressBar(output, "Restoring", false);
  off.update(1, 2);
  off.finish(2, 2);
  assert.equal(off.active, false);
  assert.equal(output.drawn.length, 2);
  // Without a terminal there is nothing to draw on.
  const plain = capture(false);
  new ProgressBar(plain, "Exporting").finish(1, 1);
  assert.deepEqual(plain.stderr, []);
});
