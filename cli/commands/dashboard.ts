/**
 * `telemetry dashboard`: the web UI and the Snowplow-Micro-compatible API over what the sinks stored.
 * This file turns flags into a store, a registry and a server; stages/dashboard/ does the work.
 */
import type { Argv, CommandModule } from "yargs";
import { portOption, withExamples } from "../command";
import { exitWithConfigError, say, shutdownSignal, VERSION } from "../runtime";
import { DEFAULT_SCAN_LIMIT } from "../../stages/dashboard/store";
import { DEFAULT_DB_PATH, storeConnectionOptions } from "./sink";

const STAGE = "dashboard";

interface DashboardArgs {
  port: number;
  host: string;
  es?: string;
  esUser?: string;
  esPassword?: string;
  esApiKey?: string;
  esCa?: string;
  db: string;
  goodIndex: string;
  badIndex: string;
  logsIndex: string;
  iglu?: string;
  accessToken?: string;
  allowReset: boolean;
  scanLimit: number;
}

const dashboard: CommandModule<object, DashboardArgs> = {
  command: "dashboard",
  describe: "Serve the web UI (overview, events, bad rows, logs, schemas, live) and a Snowplow-Micro-compatible API over the store",
  builder: (yargs) =>
    withExamples(yargs, [
      ["telemetry dashboard", `the UI on http://127.0.0.1:5601 over SQLite ${DEFAULT_DB_PATH}`],
      ["telemetry dashboard --es http://127.0.0.1:9200", "over Elasticsearch"],
      ["TELEMETRY_ACCESS_TOKEN=$(uuidgen) telemetry dashboard --host 0.0.0.0", "on every address; the token is then required"],
      [`curl -X POST localhost:5601/micro/good -d '{"event_type":"page_view","limit":1}'`, "Snowplow Micro's API"],
    ])
      .options(storeConnectionOptions)
      .option("port", portOption("port", { default: 5601, describe: "TCP port (0 picks a free one; the address is printed)" }))
      .option("host", {
        type: "string",
        default: "127.0.0.1",
        describe: "address to listen on; any address other than loopback requires --access-token",
      })
      .option("access-token", {
        type: "string",
        describe:
          "token every API and Micro request must carry (Authorization: Bearer, basic-auth password, or ?token=); required off loopback; better given as TELEMETRY_ACCESS_TOKEN",
      })
      .option("allow-reset", { type: "boolean", default: false, describe: "let /micro/reset delete every good event and bad row (off: 403)" })
      .option("good-index", { type: "string", default: "good", describe: "where good events are: SQLite table, or Elasticsearch index NAME and NAME-*" })
      .option("bad-index", { type: "string", default: "bad", describe: "where bad rows are (as --good-index)" })
      .option("logs-index", { type: "string", default: "logs", describe: "where logs are (as --good-index; the sink writes logs-%Y.%m.%d)" })
      .option("scan-limit", {
        type: "number",
        default: DEFAULT_SCAN_LIMIT,
        describe:
          "SQLite: a search or sort on a field without an indexed column (or a bare word) reads only the newest N records of the time range, and the page says so",
      })
      .option("iglu", {
        type: "string",
        describe: "schema registry shown on the Schemas page and served at /micro/iglu (as enrich's --iglu); the embedded one is always there",
      }) as unknown as Argv<DashboardArgs>,
  handler: async (args) => {
    const [{ isLoopback }, { serveDashboard }, { SchemaRegistry }] = await Promise.all([
      import("../../stages/dashboard/access"),
      import("../../stages/dashboard/server"),
      import("../../stages/dashboard/schema-registry"),
    ]);
    if (!isLoopback(args.host) && !args.accessToken) {
      exitWithConfigError(STAGE, `listening on ${args.host} needs an access token (--access-token or TELEMETRY_ACCESS_TOKEN); without one bind 127.0.0.1`);
    }
    if (!Number.isSafeInteger(args.scanLimit) || args.scanLimit < 1) exitWithConfigError(STAGE, `--scan-limit must be a whole number, 1 or more`);
    const store = await openStore(args);
    const registry = await SchemaRegistry.open(args.iglu).catch((error: Error) => exitWithConfigError(STAGE, `--iglu: ${error.message}`));
    let server: ReturnType<typeof serveDashboard>;
    try {
      server = serveDashboard({
        store,
        registry,
        allowReset: args.allowReset,
        token: args.accessToken,
        version: VERSION,
        host: args.host,
        port: args.port,
      });
    } catch (error) {
      exitWithConfigError(STAGE, `cannot listen on ${args.host}:${args.port}: ${(error as Error).message}`);
    }
    say(STAGE, `serving http://${server.hostname}:${server.port} over ${store.description}${args.allowReset ? " (reset allowed)" : ""}`);
    await store.check().catch((error: Error) => say(STAGE, `${error.message}; the pages say so and the dashboard keeps trying`));
    const signal = shutdownSignal();
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    await server.stop(true);
    await store.close();
    process.exit(0);
  },
};

async function openStore(args: DashboardArgs) {
  if (!args.es) {
    const { SqliteDashboardStore } = await import("../../stages/dashboard/sqlite-store");
    return new SqliteDashboardStore(args.db, { good: args.goodIndex, bad: args.badIndex, logs: args.logsIndex }, undefined, args.scanLimit);
  }
  const { EsDashboardStore } = await import("../../stages/dashboard/es-store");
  try {
    return new EsDashboardStore({
      urls: args.es.split(",").map((url) => url.trim()).filter(Boolean),
      username: args.esUser,
      password: args.esPassword,
      apiKey: args.esApiKey,
      caFile: args.esCa,
      families: { good: args.goodIndex, bad: args.badIndex, logs: args.logsIndex },
    });
  } catch (error) {
    exitWithConfigError(STAGE, `--es: ${(error as Error).message}`);
  }
}

export default dashboard;
