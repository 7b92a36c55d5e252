import assert from "node:assert/strict";
import { connectorFor } from "../connectors/mod.ts";
import { exportKv } from "../lib/backup/export.ts";
import { readBackupLines, writeBackupFile } from "../lib/backup/file.ts";
import { decodeEntry, encodeEntry } from "../lib/backup/format.ts";
import {
  BackupFormatError,
  restoreBackup,
  SecretMismatchError,
  verifyBackup,
} from "../lib/backup/restore.ts";
import { KvQueue } from "../lib/queue/mod.ts";
import { LOCAL_LIMITS, tempDir } from "./_ops.ts";

const FINGERPRINT = "0123456789abcdef";

/** Values and keys of every kind KV holds, as they must come back. */
const EXOTIC: { key: Deno.KvKey; value: unknown }[] = [
  { key: ["json", "object"], value: { a: 1, b: [true, null, "x"], c: { d: -2.5 } } },
  { key: ["json", "string"], value: "plain" },
  { key: ["u64", 1], value: new Deno.KvU64(18_446_744_073_709_551_615n) },
  { key: ["bytes", new Uint8Array([0, 1, 255])], value: new Uint8Array([9, 8, 7]) },
  { key: ["v8", 10n], value: { at: new Date(0), big: 12n, nested: new Uint8Array([1]) } },
  { key: ["v8", true], value: new Map([["k", 1]]) },
  { key: ["number", -1.5], value: Number.NaN },
  { key: ["undefined"], value: undefined },
];

async function exoticKv(): Promise<Deno.Kv> {
  const kv = await Deno.openKv(":memory:");
  for (const { key, value } of EXOTIC) await kv.set(key, value);
  return kv;
}

async function exportTo(kv: Deno.Kv, file: string) {
  return await writeBackupFile(
    file,
    (write) => exportKv(kv, write, { queue: "kv-outbox", secretFingerprints: [FINGERPRINT] }),
  );
}

async function restoreInto(kv: Deno.Kv, file: string, fingerprints = [FINGERPRINT]) {
  return await restoreBackup(kv, () => readBackupLines(file), {
    queue: new KvQueue(kv),
    limits: LOCAL_LIMITS,
    secretFingerprints: fingerprints,
    connectorFor,
  });
}

async function entries(kv: Deno.Kv): Promise<{ key: Deno.KvKey; value: unknown }[]> {
  const all: { key: Deno.KvKey; value: unknown }[] = [];
  for await (const { key, value } of kv.list({ prefix: [] })) all.push({ key, value });
  return all;
}

Deno.test("encodeEntry() and decodeEntry() keep every key part and value kind exactly", () => {
  for (const entry of EXOTIC) {
    const line = encodeEntry({ ...entry, expiresAt: 1_700_000_000_000 });
    assert.ok(!line.includes("\n"));
    const back = decodeEntry(line);
    assert.deepEqual(back, { ...entry, expiresAt: 1_700_000_000_000 });
  }
  assert.match(encodeEntry({ key: ["u64"], value: new Deno.KvU64(7n) }), /"u64":"7"/);
  assert.match(encodeEntry({ key: ["b"], value: new Uint8Array([1, 2]) }), /"bytes":"AQI="/);
  assert.match(encodeEntry({ key: ["j"], value: { a: 1 } }), /"v":\{"a":1\}/);
});

Deno.test("decodeEntry() refuses a line that is not an entry, naming why", () => {
  assert.throws(() => decodeEntry("not json"), { message: "not JSON" });
  assert.throws(() => decodeEntry('{"k":["a"]}'), TypeError);
  assert.throws(() => decodeEntry('{"k":["a"],"v":1,"u64":"2"}'), TypeError);
  assert.throws(() => decodeEntry('{"k":[],"v":1}'), TypeError);
});

Deno.test("a backup file (plain or gzip) restores every entry of a KV as it was", async () => {
  await using dir = await tempDir();
  for (const name of ["all.ndjson", "all.ndjson.gz"]) {
    const file = `${dir.path}/${name}`;
    using source = await exoticKv();
    const { trailer } = await exportTo(source, file);
    assert.equal(trailer.entries, EXOTIC.length);
    const head = (await Deno.readFile(file)).subarray(0, 2);
    assert.equal(head[0] === 0x1f && head[1] === 0x8b, name.endsWith(".gz"), name);
    using target = await Deno.openKv(":memory:");
    const summary = await restoreInto(target, file);
    assert.equal(summary.entries, EXOTIC.length);
    assert.deepEqual(await entries(target), await entries(source));
  }
});

Deno.test("verifyBackup() refuses a truncated, altered, foreign or newer file before anything is written", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/good.ndjson`;
  using source = await exoticKv();
  await exportTo(source, file);
  const lines = (await Deno.readTextFile(file)).trimEnd().split("\n");
  const cases: [string, string, RegExp][] = [
    ["truncated", lines.slice(0, -2).join("\n") + "\n", /truncated/],
    ["altered", lines.join("\n").replace('"plain"', '"plaiN"') + "\n", /checksum/],
    ["dropped line", [...lines.slice(0, 2), ...lines.slice(3)].join("\n") + "\n", /counts/],
    ["foreign", '{"hello":"world"}\n', /not a Sluice backup/],
    [
      "newer",
      lines[0]!.replace('"version":1', '"version":99') + "\n" + lines.slice(1).join("\n"),
      /newer than this Sluice reads/,
    ],
    ["empty", "", /empty/],
    ["garbage line", [lines[0], "{oops", ...lines.slice(1)].join("\n") + "\n", /line 2/],
  ];
  for (const [name, text, message] of cases) {
    const bad = `${dir.path}/${name}.ndjson`;
    await Deno.writeTextFile(bad, text);
    await assert.rejects(verifyBackup(readBackupLines(bad)), (error: Error) => {
      assert.ok(error instanceof BackupFormatError, name);
      assert.match(error.message, message, name);
      return true;
    });
    using target = await Deno.openKv(":memory:");
    await assert.rejects(restoreInto(target, bad), BackupFormatError, name);
    assert.deepEqual(await entries(target), [], `${name}: nothing written`);
  }
  // A gzip file cut short is refused as well.
  const gz = `${dir.path}/good.ndjson.gz`;
  await exportTo(source, gz);
  const bytes = await Deno.readFile(gz);
  await Deno.writeFile(`${dir.path}/cut.gz`, bytes.subarray(0, bytes.length - 12));
  await assert.rejects(verifyBackup(readBackupLines(`${dir.path}/cut.gz`)), BackupFormatError);
});

Deno.test("restoreBackup() refuses a backup sealed under a master secret the target lacks", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/sealed.ndjson`;
  using source = await exoticKv();
  await exportTo(source, file);
  using target = await Deno.openKv(":memory:");
  await assert.rejects(restoreInto(target, file, ["fedcba9876543210"]), SecretMismatchError);
  assert.deepEqual(await entries(target), []);
  // A target that still reads the old secret (a rotation in progress) may restore it.
  await restoreInto(target, file, ["fedcba9876543210", FINGERPRINT]);
});

Deno.test("exportKv() counts entries written while it ran, and leaves out its own mark and rate-limit windows", async () => {
  await using dir = await tempDir();
  using kv = await Deno.openKv(":memory:");
  // More entries than one list request reads, so the listing reaches the end after the write.
  const op = kv.atomic();
  for (let i = 0; i < 700; i++) op.set(["filler", i], i);
  await op.commit();
  await kv.set(["rl", "ws:x", 0], new Deno.KvU64(3n));
  let wrote = false;
  const summary = await writeBackupFile(`${dir.path}/busy.ndjson`, (write) =>
    exportKv(kv, write, {
      queue: "kv-outbox",
      secretFingerprints: [FINGERPRINT],
      onProgress: () => {
        if (wrote) return;
        wrote = true;
        kv.set(["zz", "written during the export"], 1);
      },
    }));
  assert.equal(summary.trailer.changed_during_export, 1);
  assert.equal(summary.trailer.entries, 701);
  assert.ok(summary.trailer.end_versionstamp > summary.header.start_versionstamp);
  const text = await Deno.readTextFile(`${dir.path}/busy.ndjson`);
  assert.ok(!text.includes("backup_mark") && !text.includes('"rl"'));
  assert.equal((await kv.get(["backup_mark"])).value, null, "the mark is deleted");
});

Deno.test("writeBackupFile() leaves no file when the export fails", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/failed.ndjson`;
  await assert.rejects(
    writeBackupFile(file, async (write) => {
      await write("{}\n");
      throw new Error("KV went away");
    }),
    { message: "KV went away" },
  );
  assert.deepEqual([...Deno.readDirSync(dir.path)], []);
});
