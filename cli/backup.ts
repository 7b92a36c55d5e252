import { connectorFor } from "../connectors/mod.ts";
import { countEntries, exportKv, UnknownWorkspaceError } from "../lib/backup/export.ts";
import { readBackupLines, writeBackupFile } from "../lib/backup/file.ts";
import {
  BackupFormatError,
  NonEmptyKvError,
  restoreBackup,
  SecretMismatchError,
} from "../lib/backup/restore.ts";
import { isRemoteKv } from "../lib/config.ts";
import { kvLimits } from "../lib/kv/limits.ts";
import {
  type Command,
  CommandError,
  helpHint,
  parseCommand,
  printJson,
  required,
  UsageError,
} from "./_args.ts";
import { ProgressBar } from "./_progress.ts";
import { loadConfig, requireKv, withRuntime } from "./_runtime.ts";

const GUIDE = "docs/deploy/backup.md";

const backup: Command = {
  summary: "export the instance (or one workspace) to a file",
  usage: `Usage: deno task sluice backup --out FILE [--workspace ID] [--strict] [--json]

Exports every KV entry of the instance (SLUICE_KV) to FILE: settings, workspaces, keys
(hashed), destinations and webhooks (secrets still sealed), events, dedup state, counters,
delivery rows and queued kv-outbox messages. NDJSON with a header and a checksummed
trailer; gzip when FILE ends in .gz; FILE - writes to standard output. The file is
written beside FILE and renamed when complete. A progress bar shows on a terminal.

Restore needs the same SLUICE_SECRET. See ${GUIDE} for what "consistent" means here.

Options:
  --out FILE      where to write (.ndjson, .ndjson.gz, or - for standard output)
  --workspace ID  export only this workspace's entries
  --strict        fail (and write nothing) when entries changed during the export
  --no-progress   no progress bar
  --json          print the summary as JSON
  -h, --help      this help`,
  async run(args, output) {
    const { values } = parseCommand(args, {
      out: { type: "string" },
      workspace: { type: "string" },
      strict: { type: "boolean" },
      "no-progress": { type: "boolean" },
    }, "backup");
    const out = required(values.out, "--out", "backup");
    if (out === "-" && values.json) {
      throw new UsageError("--json cannot share standard output with --out -", helpHint("backup"));
    }
    const config = loadConfig();
    await requireKv(config);
    const summary = await withRuntime(config, async (rt) => {
      const bar = new ProgressBar(output, "Exporting", !values["no-progress"]);
      const total = bar.active ? await countEntries(rt.kv) : undefined;
      try {
        return await writeBackupFile(out, async (write) => {
          const result = await exportKv(rt.kv, write, {
            workspace: values.workspace,
            queue: rt.queue.kind,
            secretFingerprints: rt.secretFingerprints,
            onProgress: (p) => bar.update(p.scanned, total),
          });
          bar.finish(total ?? result.trailer.entries, total);
          if (values.strict && result.trailer.changed_during_export > 0) {
            throw new CommandError(
              `${result.trailer.changed_during_export} entries changed during the export; nothing was written`,
              `stop the server(s) or retry at a quiet time (see ${GUIDE})`,
            );
          }
          return result;
        });
      } catch (error) {
        if (error instanceof UnknownWorkspaceError) {
          throw new CommandError(error.message, "list them with `deno task sluice workspace list`");
        }
        throw error;
      }
    });
    const report = {
      file: out,
      workspace: summary.header.workspace,
      queue: summary.header.queue,
      entries: summary.trailer.entries,
      changed_during_export: summary.trailer.changed_during_export,
      start_versionstamp: summary.header.start_versionstamp,
      end_versionstamp: summary.trailer.end_versionstamp,
      secret_fingerprint: summary.header.secret_fingerprints[0],
    };
    if (values.json) printJson(output, report);
    else {
      output.err(
        `Exported ${report.entries} entries to ${
          out === "-" ? "standard output" : out
        } (secret ${report.secret_fingerprint})`,
      );
    }
    if (report.changed_during_export > 0) {
      output.err(
        `Warning: ${report.changed_during_export} entries changed while the export ran, so the file is not one point in time; for an exact copy stop the server(s) first (see ${GUIDE})`,
      );
    }
    if (report.queue === "kv-queue") {
      output.err(
        "Note: kv-queue messages cannot be read; restore re-derives them from the events and delivery rows",
      );
    }
    return 0;
  },
};

const restore: Command = {
  summary: "restore a backup file into an empty KV",
  usage: `Usage: deno task sluice restore --in FILE [--force] [--json]

Restores a backup into the KV that SLUICE_KV names, with the source's SLUICE_SECRET. The
whole file is checked (header, every line, checksum) before anything is written. Refuses
a KV that holds entries unless --force. Queued kv-outbox messages are queued again on this
instance's queue; for a kv-queue source, the messages are re-derived from the restored
events and delivery rows. Stop the source instance first, or both deliver what was queued.

Options:
  --in FILE       the backup (.ndjson or .ndjson.gz)
  --force         write into a KV that holds entries: same keys are replaced, others kept
  --no-progress   no progress bar
  --json          print the summary as JSON
  -h, --help      this help`,
  async run(args, output) {
    const { values } = parseCommand(args, {
      in: { type: "string" },
      force: { type: "boolean" },
      "no-progress": { type: "boolean" },
    }, "restore");
    const path = required(values.in, "--in", "restore");
    try {
      await Deno.stat(path);
    } catch (error) {
      throw new CommandError(
        `Cannot read ${path}: ${(error as Error).message}`,
        "give the path of a file written by `deno task sluice backup`",
      );
    }
    const config = loadConfig();
    if (!config.secret && config.kvPath !== ":memory:" && !isRemoteKv(config.kvPath)) {
      try {
        await Deno.stat(`${config.kvPath}.secret`);
      } catch {
        throw new CommandError(
          "SLUICE_SECRET is not set and no secret file lies beside the target KV",
          `set SLUICE_SECRET to the source instance's secret, or copy its secret file to ${config.kvPath}.secret`,
        );
      }
    }
    const summary = await withRuntime(config, async (rt) => {
      const bar = new ProgressBar(output, "Restoring", !values["no-progress"]);
      try {
        const result = await restoreBackup(rt.kv, () => readBackupLines(path), {
          force: values.force,
          queue: rt.queue,
          limits: kvLimits(config.kvMaxChecks),
          secretFingerprints: rt.secretFingerprints,
          connectorFor,
          onProgress: (p) => bar.update(p.entries, p.total),
        });
        bar.finish(result.trailer.entries, result.trailer.entries);
        return result;
      } catch (error) {
        throw restoreFailure(error, path, config.kvPath);
      }
    });
    const report = {
      file: path,
      workspace: summary.header.workspace,
      source_queue: summary.header.queue,
      backup_created_at: summary.header.created_at,
      entries: summary.entries,
      expired: summary.expired,
      queued: summary.queued,
      requeued: summary.requeued,
      warnings: summary.warnings,
    };
    if (values.json) printJson(output, report);
    else {
      output.err(
        `Restored ${report.entries} entries from ${path} (taken ${report.backup_created_at})`,
      );
      if (report.expired) output.err(`Left out ${report.expired} entries that expired since`);
      if (report.queued) output.err(`Queued ${report.queued} kv-outbox messages again`);
      if (report.requeued) {
        const r = report.requeued;
        output.err(
          `Re-derived queue messages (kv-queue source): ${r.events} events to fan out, ${r.deliveries} delivery and ${r.webhooks} webhook messages`,
        );
      }
      for (const warning of report.warnings) output.err(`Warning: ${warning}`);
    }
    return 0;
  },
};

/** A restore's failure as one line and a hint. */
function restoreFailure(error: unknown, path: string, kvPath: string): unknown {
  if (error instanceof BackupFormatError) {
    return new CommandError(
      `${path} is not a complete Sluice backup: ${error.message}`,
      "nothing was restored; take the backup again",
    );
  }
  if (error instanceof NonEmptyKvError) {
    return new CommandError(
      `The KV at ${kvPath} is not empty`,
      "restore into an empty KV (a new SLUICE_KV), or add --force to write over it: entries with the same keys are replaced, others kept",
    );
  }
  if (error instanceof SecretMismatchError) {
    return new CommandError(error.message, "set SLUICE_SECRET to the source instance's secret");
  }
  return error;
}

/** `backup`, `restore`. */
export const backupCommands: Record<string, Command> = { backup, restore };
