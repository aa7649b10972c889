/**
 * `telemetry status` and `telemetry down`: what `telemetry up` with this --data folder is doing, and
 * stopping it. The numbers come from the supervisor's data/run/status.json (stages/supervise/status.ts).
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from "yargs";
import { withExamples } from "../command";
import { say } from "../runtime";

const options = {
  data: { type: "string", default: "data", describe: "the --data folder `telemetry up` runs with" },
} as const;

type StatusArgs = ArgumentsCamelCase<{ data: string; json: boolean }>;

export const status: CommandModule<object, StatusArgs> = {
  command: "status",
  describe: "Each stage of `telemetry up` up or down, its restarts and rates, and the store's counts",
  builder: (yargs: Argv) =>
    withExamples(
      yargs.options({ ...options, json: { type: "boolean", default: false, describe: "the same numbers as JSON (data/run/status.json plus the store's counts)" } }),
      [
        ["telemetry status", "a table"],
        ["telemetry status --json | jq '.stages[] | {name, state, restarts}'", "for programs"],
      ],
    ) as unknown as Argv<StatusArgs>,
  handler: async (args) => {
    const { readStatus, isStale, renderStatus, storeCounts } = await import("../../stages/supervise/status");
    const current = readStatus({ data: args.data });
    if (current === undefined) {
      say("status", `telemetry up has not run with --data ${args.data} (no ${args.data}/run/status.json)`);
      process.exit(1);
    }
    const shown = isStale(current) ? { ...current, state: "stopped" as const } : current;
    let counts: Record<string, number> | string;
    try {
      counts = await storeCounts(current.store);
    } catch (error) {
      counts = (error as Error).message;
    }
    if (args.json) process.stdout.write(JSON.stringify({ ...shown, storeCounts: typeof counts === "string" ? null : counts }, null, 2) + "\n");
    else process.stdout.write(renderStatus(shown, counts) + "\n");
    process.exit(0);
  },
};

export const down: CommandModule<object, StatusArgs> = {
  command: "down",
  describe: "Stop `telemetry up` (as Ctrl-C does) and wait until every stage has drained",
  builder: (yargs: Argv) => withExamples(yargs.options(options), [["telemetry down", "stop the pipeline"]]) as unknown as Argv<StatusArgs>,
  handler: async (args) => {
    const { readStatus, isStale } = await import("../../stages/supervise/status");
    const current = readStatus({ data: args.data });
    if (current === undefined || current.state === "stopped" || isStale(current)) {
      say("down", "telemetry is not running");
      process.exit(0);
    }
    process.kill(current.pid, "SIGTERM");
    while (true) {
      try {
        process.kill(current.pid, 0);
      } catch {
        break;
      }
      await Bun.sleep(200);
    }
    say("down", "stopped");
    process.exit(0);
  },
};
