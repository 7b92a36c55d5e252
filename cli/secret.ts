import { isRemoteKv } from "../lib/config.ts";
import { secretFingerprint } from "../lib/crypto.ts";
import { kvLimits } from "../lib/kv/limits.ts";
import { openKv } from "../lib/kv/open.ts";
import {
  ConcurrentRotationError,
  rotateSecret,
  RotationConflictError,
  type RotationProgress,
  rotationStatus,
  UnreadableValueError,
} from "../lib/rotation/rotate.ts";
import {
  type Command,
  CommandError,
  helpHint,
  type Output,
  parseCommand,
  printJson,
  UsageError,
} from "./_args.ts";
import { ProgressBar } from "./_progress.ts";
import { loadConfig, requireKv } from "./_runtime.ts";

const GUIDE = "docs/deploy/backup.md#rotating-sluice_secret";
const MIN_SECRET_LENGTH = 16;

const rotate: Command = {
  summary: "re-seal every stored secret and event under a new SLUICE_SECRET (resumable)",
  usage: `Usage: deno task sluice secret rotate [--old OLD] [--new NEW] [--skip-unreadable] [--json]

Seals every sealed value (events, destination secrets, webhook secrets) again under the
new master secret. First give every server SLUICE_SECRET=NEW and SLUICE_SECRET_PREVIOUS=OLD
and restart them: they then seal with the new secret and read both while this runs.
When it is done, remove SLUICE_SECRET_PREVIOUS and restart them again. Progress is kept in
KV: an interrupted run (Ctrl-C, a crash) resumes where it stopped when run again.

Options:
  --old OLD          the old secret (default: SLUICE_SECRET_PREVIOUS)
  --new NEW          the new secret (default: SLUICE_SECRET; when both are set they must
                     be equal, so that no server seals with the old one)
  --skip-unreadable  count values neither secret opens and go on (default: stop at the
                     first, which usually means a wrong old secret)
  --json             print the outcome as JSON
  -h, --help         this help

See ${GUIDE}.`,
  async run(args, output) {
    const { values } = parseCommand(args, {
      old: { type: "string" },
      new: { type: "string" },
      "skip-unreadable": { type: "boolean" },
    }, "secret rotate");
    const config = loadConfig();
    const newSecret = values.new ?? config.secret;
    const oldSecret = values.old ?? config.previousSecrets[0];
    if (!newSecret) {
      throw new UsageError("the new secret is missing", "pass --new NEW or set SLUICE_SECRET");
    }
    if (!oldSecret) {
      throw new UsageError(
        "the old secret is missing",
        "pass --old OLD or set SLUICE_SECRET_PREVIOUS",
      );
    }
    for (const [flag, secret] of [["--new", newSecret], ["--old", oldSecret]] as const) {
      if (secret.length < MIN_SECRET_LENGTH) {
        throw new UsageError(
          `${flag}: a secret has at least ${MIN_SECRET_LENGTH} characters`,
          helpHint("secret rotate"),
        );
      }
    }
    if (newSecret === oldSecret) {
      throw new UsageError("the old and new secrets are the same", helpHint("secret rotate"));
    }
    if (config.secret && config.secret !== newSecret) {
      throw new CommandError(
        "SLUICE_SECRET is not the new secret: servers in this environment would seal with the old one and could not open what this rotation seals",
        "set SLUICE_SECRET=NEW and SLUICE_SECRET_PREVIOUS=OLD for every server (and here), restart them, then rotate",
      );
    }
    if (!config.secret && !isRemoteKv(config.kvPath) && config.kvPath !== ":memory:") {
      throw new CommandError(
        "SLUICE_SECRET is not set: the server uses the secret generated beside its KV file, which a rotation does not change",
        "set SLUICE_SECRET=NEW and SLUICE_SECRET_PREVIOUS=OLD for the server, restart it, then rotate",
      );
    }
    await requireKv(config);
    const kv = await openKv(config.kvPath);
    const controller = new AbortController();
    const stop = () => {
      output.err("Stopping after the batch in progress…");
      controller.abort();
    };
    Deno.addSignalListener("SIGINT", stop);
    const bar = new ProgressBar(output, "Rotating");
    try {
      const result = await rotateSecret(kv, {
        oldSecret,
        newSecret,
        limits: kvLimits(config.kvMaxChecks),
        signal: controller.signal,
        skipUnreadable: values["skip-unreadable"],
        onProgress: (p) => bar.update(p.resealed + p.current + p.unreadable),
      }).catch(rotationFailure);
      const p = result.progress;
      bar.finish(p.resealed + p.current + p.unreadable);
      if (values.json) printJson(output, { ...result, progress: p });
      if (!result.finished) {
        output.err(
          `Interrupted in ${p.scope} after ${p.resealed} values re-sealed: run the same command again to resume`,
        );
        return 1;
      }
      if (!values.json) {
        output.out(
          `Rotation complete: ${p.resealed} values re-sealed, ${p.current} already under the new secret${
            p.unreadable ? `, ${p.unreadable} unreadable (left as they were)` : ""
          }`,
        );
        output.err(
          "Next: remove SLUICE_SECRET_PREVIOUS from every server's environment and restart them",
        );
      }
      return 0;
    } finally {
      Deno.removeSignalListener("SIGINT", stop);
      kv.close();
    }
  },
};

/** A rotation's failure as one line and a hint. */
function rotationFailure(error: unknown): never {
  if (error instanceof RotationConflictError) {
    throw new CommandError(
      error.message,
      "run `deno task sluice secret status` to see it, and rotate with its two secrets",
    );
  }
  if (error instanceof ConcurrentRotationError) {
    throw new CommandError(error.message, "wait for the other run to end, then run again");
  }
  if (error instanceof UnreadableValueError) {
    throw new CommandError(
      error.message,
      "check --old (SLUICE_SECRET_PREVIOUS); --skip-unreadable leaves such values as they are",
    );
  }
  throw error;
}

function printStatus(output: Output, progress: RotationProgress, current?: string): void {
  const state = progress.finished_at ? `finished ${progress.finished_at}` : "unfinished";
  output.out(`Rotation ${progress.from} → ${progress.to}: ${state}`);
  output.out(`started ${progress.started_at}, last progress ${progress.updated_at}`);
  if (!progress.finished_at) output.out(`at: ${progress.scope}`);
  output.out(
    `re-sealed ${progress.resealed}, already current ${progress.current}, unreadable ${progress.unreadable}`,
  );
  if (current) output.out(`SLUICE_SECRET here: ${current}`);
}

const status: Command = {
  summary: "show the recorded secret rotation",
  usage: `Usage: deno task sluice secret status [--json]

Shows the last rotation recorded in KV (secrets by fingerprint), finished or not, and the
fingerprint of SLUICE_SECRET here.

Options:
  --json          {"rotation": {...} | null, "secret_fingerprint"}
  -h, --help      this help`,
  async run(args, output) {
    const { values } = parseCommand(args, {}, "secret status");
    const config = loadConfig();
    await requireKv(config);
    const kv = await openKv(config.kvPath);
    try {
      const progress = await rotationStatus(kv);
      const current = config.secret ? secretFingerprint(config.secret) : undefined;
      if (values.json) {
        printJson(output, { rotation: progress, secret_fingerprint: current ?? null });
      } else if (!progress) output.out("No rotation recorded");
      else printStatus(output, progress, current);
      return 0;
    } finally {
      kv.close();
    }
  },
};

/** `secret rotate|status`. */
export const secretCommands: Record<string, Command> = { rotate, status };
