/**
 * `telemetry collect`: the Snowplow-compatible HTTP collector. Wires stages/collect to the process:
 * Bun.serve in front, the bounded queue and stdout behind, --bad for size violations, --archive for a
 * durable copy, and the stage lifecycle (SIGTERM drains, EPIPE exits 0).
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from "yargs";
import { collectorConfig, configProblem, type CollectorConfig, type SameSite } from "../../stages/collect/config";
import { parseByteSize } from "../../stages/shared/byte-size";
import { parseDurationSeconds } from "../../stages/shared/duration";
import { StageCounters } from "../../stages/shared/counters";
import { httpServerErrors } from "../../stages/shared/http-errors";
import { LineWriter } from "../../stages/shared/line-writer";
import { kafkaConnection, kafkaConnectionOptions, kafkaOutputTopicOption, kafkaProducer, kafkaProducerOptions, kafkaRawFormatOption, type KafkaArgs } from "../kafka";
import { DEFAULT_TOPICS } from "../../stages/kafka/topics";
import type { RawFormat } from "../../stages/kafka/formats";
import { ConfigError } from "../../stages/shared/config-error";
import type { StageOutput } from "../runtime";
import { portOption, withExamples } from "../command";
import { exitWithConfigError, openBadChannel, processorFor, reachOf, say, shutdownSignal, VERSION } from "../runtime";

const STAGE = "collect";

const options = {
  port: portOption("port", { default: 8000, describe: "TCP port to listen on (0 picks a free one; the startup line names it)" }),
  host: { type: "string", default: "0.0.0.0", describe: "address to listen on (127.0.0.1: this machine only)" },
  bad: { type: "string", describe: "file or FIFO that size_violation bad rows are appended to (default ./telemetry-bad.ndjson)" },
  "stats-interval": { type: "number", default: 10, describe: "seconds between counter lines on stderr (0 turns them off)" },
  "queue-size": {
    type: "string",
    default: "32MiB",
    describe: "records held while stdout is slow: a count (10000) or bytes (32MiB); when full, requests get 503",
  },
  "drop-payload-size": { type: "number", default: 2 * 1024 * 1024, describe: "bodies larger than this many bytes get 413 and are not recorded" },
  "max-record-bytes": {
    type: "number",
    default: 1_000_000,
    describe: "raw records larger than this (the sink limit): a POST batch is split into records under it, what cannot be split becomes size_violation bad rows; answered 200",
  },
  "max-split-bytes": {
    type: "number",
    default: 1_048_576,
    describe: "records larger than this are never split: one size_violation (Snowplow's maxPayloadSize)",
  },
  "trust-forwarded-for": { type: "boolean", default: false, describe: "take the client address from X-Forwarded-For (only behind your own proxy)" },
  cookie: { type: "boolean", default: true, describe: "set the network user id cookie (--no-cookie: never)" },
  "cookie-name": { type: "string", default: "sp", describe: "name of the network user id cookie" },
  "cookie-domain": {
    type: "string",
    array: true,
    default: [] as string[],
    describe: "cookie Domain when the request Origin is this domain or under it (repeatable; first match wins)",
  },
  "cookie-fallback-domain": { type: "string", describe: "cookie Domain when no --cookie-domain matches (default: none, the collector host)" },
  "cookie-expiration-days": { type: "number", default: 365, describe: "cookie lifetime, renewed on every request" },
  "cookie-same-site": { type: "string", choices: ["None", "Lax", "Strict", "unset"], default: "None", describe: "cookie SameSite attribute" },
  "cookie-secure": { type: "boolean", default: true, describe: "mark the cookie Secure" },
  "cookie-http-only": { type: "boolean", default: true, describe: "mark the cookie HttpOnly" },
  "client-cookie-name": { type: "string", describe: "also set a cookie of this name, readable by page scripts" },
  "do-not-track-cookie": {
    type: "string",
    describe: "NAME=REGEX: requests carrying cookie NAME whose whole value matches REGEX are answered but not recorded",
  },
  "cors-max-age": { type: "number", default: 3600, describe: "seconds browsers may cache a CORS preflight" },
  redirects: { type: "boolean", default: false, describe: "serve /r/tp2?u=URL click redirects (needs --redirect-domain)" },
  "redirect-domain": { type: "string", array: true, default: [] as string[], describe: "host a redirect may lead to (repeatable)" },
  "cross-domain": {
    type: "string",
    array: true,
    default: [] as string[],
    describe: "serve /crossdomain.xml allowing this domain (repeatable; default: the route is off)",
  },
  "cross-domain-secure": { type: "boolean", default: true, describe: "secure=\"true\" in /crossdomain.xml" },
  path: {
    type: "string",
    array: true,
    default: [] as string[],
    describe: "FROM=TO custom path, e.g. /com.acme/track=/com.snowplowanalytics.snowplow/tp2 (repeatable)",
  },
  "body-read-timeout": { type: "number", default: 25, describe: "seconds a client may take to send its body before a 408" },
  "idle-timeout": { type: "number", default: 30, describe: "seconds a silent connection is kept open (at most 255)" },
  archive: { type: "string", describe: "directory that keeps every raw record in rotating segments, synced to disk before the answer" },
  "archive-segment-bytes": { type: "number", default: 64 * 1024 * 1024, describe: "rotate an archive segment at this size" },
  "archive-segment-seconds": { type: "number", default: 3600, describe: "rotate a non-empty archive segment at this age" },
  "archive-max-bytes": { type: "string", describe: "remove the oldest archive segments while the archive is larger than this (e.g. 10GiB; default: no limit)" },
  "archive-max-age": { type: "string", describe: "remove archive segments finished longer ago than this (e.g. 7d, 12h; default: kept)" },
  ...kafkaConnectionOptions,
  ...kafkaProducerOptions,
  ...kafkaOutputTopicOption(DEFAULT_TOPICS.raw),
  ...kafkaRawFormatOption,
} as const;

type CollectArgs = KafkaArgs & ArgumentsCamelCase<{
  kafkaOutputTopic: string;
  kafkaRawFormat: RawFormat;
  port: number;
  host: string;
  bad?: string;
  statsInterval: number;
  queueSize: string;
  dropPayloadSize: number;
  maxRecordBytes: number;
  maxSplitBytes: number;
  trustForwardedFor: boolean;
  cookie: boolean;
  cookieName: string;
  cookieDomain: string[];
  cookieFallbackDomain?: string;
  cookieExpirationDays: number;
  cookieSameSite: SameSite | "unset";
  cookieSecure: boolean;
  cookieHttpOnly: boolean;
  clientCookieName?: string;
  doNotTrackCookie?: string;
  corsMaxAge: number;
  redirects: boolean;
  redirectDomain: string[];
  crossDomain: string[];
  crossDomainSecure: boolean;
  path: string[];
  bodyReadTimeout: number;
  idleTimeout: number;
  archive?: string;
  archiveSegmentBytes: number;
  archiveSegmentSeconds: number;
  archiveMaxBytes?: string;
  archiveMaxAge?: string;
}>;

/** The collector configuration the flags describe; throws a one-sentence Error when they make no sense. */
export function configFromArgs(args: CollectArgs): CollectorConfig {
  const paths: Record<string, string> = {};
  for (const mapping of args.path) {
    const [from, to, ...rest] = mapping.split("=");
    if (!from || !to || rest.length > 0) throw new Error(`--path ${mapping} is not FROM=TO`);
    paths[from] = to;
  }
  let doNotTrackCookie: CollectorConfig["doNotTrackCookie"];
  if (args.doNotTrackCookie !== undefined) {
    const equals = args.doNotTrackCookie.indexOf("=");
    if (equals < 1) throw new Error(`--do-not-track-cookie ${args.doNotTrackCookie} is not NAME=REGEX`);
    const pattern = args.doNotTrackCookie.slice(equals + 1);
    try {
      doNotTrackCookie = { name: args.doNotTrackCookie.slice(0, equals), value: new RegExp(`^(?:${pattern})$`) };
    } catch (error) {
      throw new Error(`--do-not-track-cookie has an invalid regular expression: ${(error as Error).message}`);
    }
  }
  if (!(args.bodyReadTimeout > 0)) throw new Error("--body-read-timeout must be a positive number of seconds");
  const config = collectorConfig({
    collectorName: `telemetry-collect-${VERSION}`,
    trustForwardedFor: args.trustForwardedFor,
    corsMaxAgeSeconds: args.corsMaxAge,
    redirects: args.redirects,
    redirectDomains: args.redirectDomain,
    crossDomainDomains: args.crossDomain,
    crossDomainSecure: args.crossDomainSecure,
    paths,
    dropPayloadBytes: args.dropPayloadSize,
    maxRecordBytes: args.maxRecordBytes,
    maxSplitBytes: args.maxSplitBytes,
    bodyReadTimeoutMs: args.bodyReadTimeout * 1000,
    doNotTrackCookie,
    cookie: {
      enabled: args.cookie,
      name: args.cookieName,
      domains: args.cookieDomain,
      fallbackDomain: args.cookieFallbackDomain,
      expirationSeconds: args.cookieExpirationDays * 24 * 3600,
      sameSite: args.cookieSameSite === "unset" ? undefined : args.cookieSameSite,
      secure: args.cookieSecure,
      httpOnly: args.cookieHttpOnly,
      clientCookieName: args.clientCookieName,
    },
  });
  const problem = configProblem(config);
  if (problem !== undefined) throw new Error(problem);
  return config;
}

async function run(args: CollectArgs): Promise<void> {
  // Loaded here, not at the top, so other commands do not pay for the collector's modules at startup.
  const [{ RawArchive }, { Collector }, { parseQueueCapacity, RecordQueue }] = await Promise.all([
    import("../../stages/collect/archive"),
    import("../../stages/collect/collector"),
    import("../../stages/collect/record-queue"),
  ]);
  let config: CollectorConfig;
  try {
    config = configFromArgs(args);
  } catch (error) {
    exitWithConfigError(STAGE, (error as Error).message);
  }
  const capacity = parseQueueCapacity(args.queueSize);
  if (capacity === undefined) exitWithConfigError(STAGE, `--queue-size ${args.queueSize} is not a record count or a size like 32MiB`);
  if (!(args.idleTimeout > 0 && args.idleTimeout <= 255)) exitWithConfigError(STAGE, "--idle-timeout must be between 1 and 255 seconds");

  const signal = shutdownSignal();
  const processor = processorFor(STAGE);
  const counters = new StageCounters();
  const output: StageOutput & { close?(): Promise<void> } = args.kafka === undefined ? new LineWriter(process.stdout) : await kafkaOutput(args);
  const queue = new RecordQueue(
    {
      writeLine(line) {
        counters.out++;
        return output.writeLine(line);
      },
    },
    capacity,
  );
  const bad = openBadChannel(STAGE, args.bad);
  const maxBytes = args.archiveMaxBytes === undefined ? undefined : parseByteSize(args.archiveMaxBytes);
  if (args.archiveMaxBytes !== undefined && maxBytes === undefined) exitWithConfigError(STAGE, `--archive-max-bytes ${args.archiveMaxBytes} is not a size like 10GiB`);
  const maxAgeSeconds = args.archiveMaxAge === undefined ? undefined : parseDurationSeconds(args.archiveMaxAge);
  if (args.archiveMaxAge !== undefined && maxAgeSeconds === undefined) exitWithConfigError(STAGE, `--archive-max-age ${args.archiveMaxAge} is not a duration like 7d or 12h`);
  const archive =
    args.archive === undefined
      ? undefined
      : await RawArchive.open(args.archive, {
          segmentBytes: args.archiveSegmentBytes,
          segmentSeconds: args.archiveSegmentSeconds,
          maxBytes,
          maxAgeSeconds,
        }).catch((error: Error) => exitWithConfigError(STAGE, `cannot use --archive ${args.archive}: ${error.message}`));
  const collector = new Collector(config, {
    output: queue,
    bad,
    archive,
    counters,
    processor,
    warn: (message) => say(STAGE, message),
  });

  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      ...httpServerErrors((message) => say(STAGE, message)),
      hostname: args.host,
      port: args.port,
      // Bun answers 413 itself to a declared length above this; chunked bodies are counted by the collector.
      maxRequestBodySize: config.dropPayloadBytes,
      idleTimeout: args.idleTimeout,
      fetch: (request, server) => collector.handle(request, server.requestIP(request)?.address),
    });
  } catch (error) {
    exitWithConfigError(STAGE, `cannot listen on ${args.host}:${args.port}: ${(error as Error).message}`);
  }
  const stopReporting = counters.startReporting(args.statsInterval, (line) => say(STAGE, line));
  say(STAGE, `listening on http://${server.hostname}:${server.port} (${reachOf(args.host)})`);

  let finishing = false;
  const finish = async (drainOutput: boolean) => {
    if (finishing) return;
    finishing = true;
    void server.stop();
    await collector.shutdown();
    if (drainOutput) {
      await queue.drain();
      await output.end();
      await output.close?.();
    }
    await archive?.close();
    stopReporting();
    bad.close();
    if (drainOutput) say(STAGE, `stopped (${counters.totals()})`);
    process.exit(0);
  };
  // Downstream gone: nothing more can be delivered (the archive still gets what was accepted).
  output.closed.then(() => finish(false));
  signal.addEventListener("abort", () => void finish(true), { once: true });
}

/** Raw records to the raw topic (Thrift by default), once the brokers answer and the topic exists. */
async function kafkaOutput(args: CollectArgs) {
  const [{ checkTopics }, { rawRecordMessage }] = await Promise.all([import("../../stages/kafka/connection"), import("../../stages/kafka/formats")]);
  try {
    const connection = kafkaConnection(STAGE, args);
    await checkTopics(connection, [args.kafkaOutputTopic]);
    say(STAGE, `writing raw records (${args.kafkaRawFormat}) to Kafka topic ${args.kafkaOutputTopic} (${connection.brokers})`);
    return kafkaProducer(STAGE, args, connection, args.kafkaOutputTopic, rawRecordMessage(args.kafkaRawFormat));
  } catch (error) {
    if (error instanceof ConfigError) exitWithConfigError(STAGE, error.message);
    throw error;
  }
}

const command: CommandModule<object, CollectArgs> = {
  command: "collect",
  describe: "Snowplow-compatible HTTP collector: one raw record per tracking request on stdout",
  builder: (yargs: Argv) =>
    withExamples(yargs.options(options), [
      ["$0 collect --port 8000 --bad bad.ndjson | $0 enrich | $0 sink-good", "collect, enrich and store events"],
      ["$0 collect --port 8000 --archive raw/ > /dev/null", "keep only a durable archive of raw records"],
    ]) as unknown as Argv<CollectArgs>,
  handler: run,
};

export default command;
