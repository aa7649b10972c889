/**
 * `telemetry iglu serve` (an Iglu-Server-compatible registry over a folder), `telemetry iglu lint`
 * (igluctl-style schema checks) and `telemetry iglu pull` (a registry copied into a folder). The logic lives
 * in stages/iglu/.
 */
import { readFile, stat } from "node:fs/promises";
import type { Argv, CommandModule } from "yargs";
import { IGLU_CENTRAL_SKIPPED, LINTERS, SKIPPABLE_LINTERS } from "../../stages/iglu/lint";
import { httpServerErrors } from "../../stages/shared/http-errors";
import { countOf } from "../../stages/shared/plural";
import { declareCommand, portOption, withExamples } from "../command";
import { exitWithConfigError, isLoopback, say, shutdownSignal, VERSION } from "../runtime";

const STAGE = "iglu";

interface ServeArgs {
  port: number;
  host: string;
  dir: string;
  state?: string;
  superApiKey?: string;
  patchesAllowed: boolean;
  maxPayloadSize: number;
}

const serve: CommandModule<object, ServeArgs> = {
  command: "serve",
  describe: "Serve a schema folder as an Iglu Server (read, list, publish with API keys, validate)",
  builder: (yargs) =>
    withExamples(yargs, [
      ["$0 iglu serve --port 8081 --dir schemas", "serve the embedded registry"],
      ["curl -H \"apikey: $KEY\" -X POST 'localhost:8081/api/schemas?isPublic=true' -d @my_event.json", "publish a self-describing schema"],
      ["$0 collect | $0 enrich --iglu http://localhost:8081/api | $0 sink-good", "enrich against it"],
    ])
      .option("port", portOption("port", { default: 8081, describe: "TCP port (0 picks a free one; the bound address is printed)" }))
      .option("host", {
        type: "string",
        default: "127.0.0.1",
        describe: "address to listen on; the registry takes writes, so only this machine unless given here (never from TELEMETRY_HOST)",
      })
      .option("dir", { type: "string", default: "schemas", describe: "registry folder in static layout <vendor>/<name>/<format>/<version>" })
      .option("state", { type: "string", describe: "file for schema metadata and API keys (default <dir>/.iglu-server.json)" })
      .option("super-api-key", {
        type: "string",
        describe: "UUID with full rights incl. keygen; better given as TELEMETRY_SUPER_API_KEY or IGLU_SUPER_API_KEY",
      })
      .option("patches-allowed", { type: "boolean", default: false, describe: "allow overwriting and deleting published versions" })
      .option("max-payload-size", { type: "number", default: 100_000, describe: "largest request body in bytes" }) as unknown as Argv<ServeArgs>,
  handler: async (args) => {
    // Loaded here, not at the top, so other commands do not pay for the registry's modules at startup.
    const [{ RegistryStore }, { IgluServer, isUuid }] = await Promise.all([
      import("../../stages/iglu/registry-store"),
      import("../../stages/iglu/server"),
    ]);
    const superApiKey = args.superApiKey ?? process.env.IGLU_SUPER_API_KEY;
    if (superApiKey !== undefined && !isUuid(superApiKey)) exitWithConfigError(STAGE, "the super API key must be a UUID");
    const store = await RegistryStore.open(args.dir, args.state).catch((error: Error) =>
      exitWithConfigError(STAGE, `cannot open registry ${args.dir}: ${error.message}`),
    );
    const registry = new IgluServer({
      store,
      superApiKey,
      patchesAllowed: args.patchesAllowed,
      maxPayloadSize: args.maxPayloadSize,
      version: VERSION,
    });
    let server: ReturnType<typeof Bun.serve>;
    try {
      server = Bun.serve({
        ...httpServerErrors((message) => say(STAGE, message)),
        port: args.port,
        hostname: args.host,
        // Bodies over the limit get a readable 413 from the registry rather than a dropped connection.
        maxRequestBodySize: args.maxPayloadSize + 1024 * 1024,
        fetch: (request) => registry.handle(request),
      });
    } catch (error) {
      exitWithConfigError(STAGE, `cannot listen on ${args.host}:${args.port}: ${(error as Error).message}`);
    }
    const count = (await store.list()).length;
    const reach = isLoopback(args.host) ? "this machine only" : "other machines can reach it and publish with a write key";
    say(STAGE, `serving ${countOf(count, "schema")} from ${args.dir} at http://${server.hostname}:${server.port}/api (${reach})`);
    if (!superApiKey) say(STAGE, "no super API key (TELEMETRY_SUPER_API_KEY): schemas can be read but keys cannot be made");
    const signal = shutdownSignal();
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    await server.stop();
    process.exit(0);
  },
};

interface LintArgs {
  path: string;
  skipChecks?: string;
  skipSchemas?: string;
  igluCentral: boolean;
}

const lint: CommandModule<object, LintArgs> = {
  command: "lint <path>",
  describe: "Check schemas as igluctl lint does; exit 1 if any schema fails",
  builder: (yargs) =>
    withExamples(yargs, [
      ["$0 iglu lint schemas --iglu-central", "lint the embedded registry"],
      ["$0 iglu lint schemas/com.acme/click/jsonschema/1-0-0 --skip-checks description,optionalNull", "one file"],
    ])
      .positional("path", { type: "string", demandOption: true, describe: "a registry folder or one schema file" })
      .option("skip-checks", { type: "string", describe: `comma-separated optional linters to skip: ${SKIPPABLE_LINTERS.join(", ")}` })
      .option("skip-schemas", { type: "string", describe: "comma-separated Iglu URIs to leave out" })
      .option("iglu-central", {
        type: "boolean",
        default: false,
        describe: `skip what Iglu Central's CI skips (${IGLU_CENTRAL_SKIPPED.join(", ")})`,
      }) as unknown as Argv<LintArgs>,
  handler: async (args) => {
    const { formatLintReport, lintRegistry } = await import("../../stages/iglu/lint-registry");
    const skipChecks = new Set(splitList(args.skipChecks));
    for (const name of skipChecks) {
      if (!(name in LINTERS)) exitWithConfigError(STAGE, `unknown check "${name}"; skippable checks are ${SKIPPABLE_LINTERS.join(", ")}`);
      if (!(SKIPPABLE_LINTERS as string[]).includes(name)) exitWithConfigError(STAGE, `check "${name}" is mandatory and cannot be skipped`);
    }
    if (args.igluCentral) for (const name of IGLU_CENTRAL_SKIPPED) skipChecks.add(name);
    if (!(await stat(args.path).catch(() => undefined))) exitWithConfigError(STAGE, `${args.path} does not exist`);
    const results = await lintRegistry(args.path, { skipChecks, skipSchemas: new Set(splitList(args.skipSchemas)) });
    process.stdout.write(formatLintReport(results));
    process.exit(results.some((r) => r.findings.length > 0) ? 1 : 0);
  },
};

interface PullArgs {
  source: string;
  dir: string;
  keys?: string;
  apikey?: string;
  timeout: number;
}

const pull: CommandModule<object, PullArgs> = {
  command: "pull <source> <dir>",
  describe: "Copy a registry (an Iglu Server's …/api, or a static one such as Iglu Central) into a local static registry, incrementally",
  builder: (yargs) =>
    withExamples(yargs, [
      ["$0 iglu pull http://iglu.example.com:8081/api mirror/", "everything an Iglu Server lets you read"],
      ["$0 iglu pull http://iglucentral.com mirror/ --keys keys.txt", "the listed keys from Iglu Central"],
      ["$0 enrich --iglu mirror/ --iglu-central-urls none", "then enrich offline against the copy"],
    ])
      .positional("source", { type: "string", demandOption: true, describe: "registry URL: an Iglu Server's http://host:8081/api, or a static registry's root" })
      .positional("dir", { type: "string", demandOption: true, describe: "local folder, laid out <vendor>/<name>/<format>/<version>; created if missing" })
      .option("keys", {
        type: "string",
        describe:
          "file of Iglu URIs to copy, one per line (# comments). Needed for a static registry, which has no list; " +
          "without it an Iglu Server's own list (GET …/schemas) is copied",
      })
      .option("apikey", { type: "string", describe: "apikey header for an Iglu Server (to copy its private schemas)" })
      .option("timeout", { type: "number", default: 10_000, describe: "milliseconds before one request is abandoned" }) as unknown as Argv<PullArgs>,
  handler: async (args) => {
    const { parseKeyList, PullError, pullRegistry } = await import("../../stages/iglu/pull");
    if (!/^https?:\/\//i.test(args.source)) exitWithConfigError(STAGE, `${args.source} is not an http(s) registry URL`);
    if (!(args.timeout > 0)) exitWithConfigError(STAGE, "--timeout must be a number of milliseconds above 0");
    try {
      const keys = args.keys === undefined ? undefined : parseKeyList(await readFile(args.keys, "utf8"), args.keys);
      const report = await pullRegistry(args.source, args.dir, { keys, apikey: args.apikey, timeoutMs: args.timeout });
      const listed = report.keysFrom === "source list" ? "listed by the source" : `given in ${args.keys}`;
      const total = report.copied.length + report.replaced.length + report.unchanged.length + report.failed.length;
      for (const failure of report.failed) say(STAGE, `not copied: ${failure.uri}: ${failure.reason}`);
      const news = report.copied.length + report.replaced.length;
      const summary = news === 0 ? "nothing new" : `${report.copied.length} copied, ${report.replaced.length} replaced`;
      process.stdout.write(
        `${total} schema(s) ${listed}: ${summary}, ${report.unchanged.length} already up to date, ${report.failed.length} failed → ${args.dir}\n`,
      );
      process.exit(report.failed.length > 0 ? 1 : 0);
    } catch (error) {
      if (error instanceof PullError || (error as NodeJS.ErrnoException).code === "ENOENT") exitWithConfigError(STAGE, (error as Error).message);
      throw error;
    }
  },
};

function splitList(text: string | undefined): string[] {
  return (text ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

const iglu: CommandModule = {
  command: "iglu",
  describe: "Iglu schema registry: serve a schema folder, lint schemas, pull a registry into a folder",
  builder: (yargs) =>
    withExamples(yargs, [
      ["$0 iglu serve --port 8081 --dir schemas", "run the registry enrich resolves against"],
      ["$0 iglu lint schemas --iglu-central", "check every schema in the folder"],
      ["$0 iglu pull http://iglucentral.com mirror/ --keys keys.txt", "copy a registry for offline use"],
    ])
      .command(declareCommand(serve, { within: ["iglu"], commandLineOnly: ["host"] }))
      .command(declareCommand(lint, { within: ["iglu"] }))
      .command(declareCommand(pull, { within: ["iglu"] }))
      .demandCommand(1, "name an iglu command: serve, lint or pull"),
  handler: () => {},
};

export default iglu;
