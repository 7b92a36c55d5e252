import { AccountExistsError, type Role, ROLES } from "../lib/auth/accounts.ts";
import { passwordProblem } from "../lib/auth/passwords.ts";
import { randomBase62 } from "../lib/crypto.ts";
import {
  type Command,
  CommandError,
  helpHint,
  type Output,
  parseCommand,
  printJson,
  required,
  UsageError,
} from "./_args.ts";
import { loadConfig, requireKv, withRuntime } from "./_runtime.ts";

/** The password to set: the first line of standard input with --password-stdin, else a new one. */
async function passwordFrom(stdin: boolean | undefined, command: string) {
  if (!stdin) return { password: randomBase62(20), generated: true };
  const text = await new Response(Deno.stdin.readable).text();
  const password = text.split(/\r?\n/)[0] ?? "";
  const problem = passwordProblem(password);
  if (problem) throw new UsageError(`the password ${problem}`, helpHint(command));
  return { password, generated: false };
}

function printAccount(
  output: Output,
  json: boolean | undefined,
  answer: { id: string; email: string; password?: string },
) {
  if (json) return printJson(output, answer);
  output.out(`${answer.id}  ${answer.email}`);
  if (answer.password) {
    output.out(`password: ${answer.password}`);
    output.err("The password is shown only now: hand it over safely; it can be changed later.");
  }
}

const create: Command = {
  summary: "create a dashboard account (optionally with a role in a workspace)",
  usage:
    `Usage: deno task sluice user create --email EMAIL [--workspace ID --role ROLE] [--instance-owner] [--password-stdin] [--json]

Creates a dashboard account. Without --password-stdin a password is generated and shown once.

Options:
  --email EMAIL       the sign-in email
  --workspace ID      a workspace to give the account a role in
  --role ROLE         owner, member or viewer (with --workspace; default member)
  --instance-owner    the account owns every workspace on the instance
  --password-stdin    read the password from the first line of standard input
  --json              {"id", "email", "password"?}
  -h, --help          this help`,
  async run(args, output) {
    const { values } = parseCommand(args, {
      email: { type: "string" },
      workspace: { type: "string" },
      role: { type: "string" },
      "instance-owner": { type: "boolean" },
      "password-stdin": { type: "boolean" },
    }, "user create");
    const email = required(values.email, "--email", "user create");
    const role = (values.role ?? "member") as Role;
    if (!ROLES.includes(role)) {
      throw new UsageError(
        `--role "${values.role}" is not one of ${ROLES.join(", ")}`,
        helpHint("user create"),
      );
    }
    if (values.role && !values.workspace) {
      throw new UsageError("--role needs --workspace", helpHint("user create"));
    }
    const { password, generated } = await passwordFrom(values["password-stdin"], "user create");
    const config = loadConfig();
    await requireKv(config);
    await withRuntime(config, async (rt) => {
      if (values.workspace && !(await rt.workspaces.get(values.workspace))) {
        throw new CommandError(
          `No workspace "${values.workspace}"`,
          "list them with `deno task sluice workspace list`",
        );
      }
      try {
        const account = await rt.accounts.create(
          { email, password, instance_owner: values["instance-owner"] ?? false },
          values.workspace ? { wsId: values.workspace, role } : undefined,
        );
        printAccount(output, values.json, {
          id: account.id,
          email: account.email,
          ...(generated ? { password } : {}),
        });
      } catch (error) {
        if (!(error instanceof AccountExistsError)) throw error;
        throw new CommandError(
          `An account with ${email} exists`,
          "reset its password with `user reset-password`",
        );
      }
    });
    return 0;
  },
};

const resetPassword: Command = {
  summary: "set a new password for a dashboard account",
  usage: `Usage: deno task sluice user reset-password --email EMAIL [--password-stdin] [--json]

Sets a new password. Without --password-stdin one is generated and shown once.

Options:
  --email EMAIL       the account's sign-in email
  --password-stdin    read the password from the first line of standard input
  --json              {"id", "email", "password"?}
  -h, --help          this help`,
  async run(args, output) {
    const { values } = parseCommand(args, {
      email: { type: "string" },
      "password-stdin": { type: "boolean" },
    }, "user reset-password");
    const email = required(values.email, "--email", "user reset-password");
    const { password, generated } = await passwordFrom(
      values["password-stdin"],
      "user reset-password",
    );
    const config = loadConfig();
    await requireKv(config);
    await withRuntime(config, async (rt) => {
      const account = await rt.accounts.byEmail(email);
      if (!account) {
        throw new CommandError(`No account with ${email}`, "create one with `user create`");
      }
      await rt.accounts.setPassword(account.id, password);
      printAccount(output, values.json, {
        id: account.id,
        email: account.email,
        ...(generated ? { password } : {}),
      });
    });
    return 0;
  },
};

/** `sluice user …`: dashboard accounts. */
export const userCommands: Record<string, Command> = { create, "reset-password": resetPassword };
