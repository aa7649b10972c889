/**
 * `telemetry kafka-topics`: creates the topics the stages use on Kafka (Snowplow's default names and ours
 * for logs), so a pipeline can start on a broker that does not create topics itself.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from "yargs";
import { ConfigError } from "../../stages/shared/config-error";
import { DEFAULT_PARTITIONS, DEFAULT_TOPICS } from "../../stages/kafka/topics";
import { withExamples } from "../command";
import { kafkaConnection, kafkaConnectionOptions, type KafkaArgs } from "../kafka";
import { exitWithConfigError, say } from "../runtime";

const STAGE = "kafka-topics";

const options = {
  ...kafkaConnectionOptions,
  topics: {
    type: "string",
    default: Object.values(DEFAULT_TOPICS).join(","),
    describe: "topics to create when missing, separated by commas",
  },
  partitions: { type: "number", default: DEFAULT_PARTITIONS, describe: "partitions of each new topic: the most processes of one group that can share it" },
  replicas: { type: "number", default: 1, describe: "replication factor of each new topic" },
} as const;

type TopicsArgs = KafkaArgs & ArgumentsCamelCase<{ topics: string; partitions: number; replicas: number }>;

const command: CommandModule<object, TopicsArgs> = {
  command: "kafka-topics",
  describe: "Create the Kafka topics the stages use (snowplow-collector-payloads, snowplow-enriched, snowplow-bad, telemetry-logs)",
  builder: (yargs: Argv) =>
    withExamples(yargs.options(options), [["$0 kafka-topics --kafka 127.0.0.1:9092 --partitions 6", "create the missing topics with 6 partitions each"]]) as unknown as Argv<TopicsArgs>,
  handler: async (args) => {
    if (args.kafka === undefined) exitWithConfigError(STAGE, "--kafka host:port names the broker to create the topics on.");
    if (!(Number.isInteger(args.partitions) && args.partitions > 0)) exitWithConfigError(STAGE, "--partitions must be a whole number above 0");
    const { createTopics } = await import("../../stages/kafka/connection");
    const topics = args.topics.split(",").map((topic) => topic.trim()).filter(Boolean);
    try {
      const created = await createTopics(kafkaConnection(STAGE, args), topics, args.partitions, args.replicas);
      say(STAGE, created.length === 0 ? `all ${topics.length} topics exist already` : `created ${created.join(", ")} (${args.partitions} partitions each)`);
    } catch (error) {
      if (error instanceof ConfigError) exitWithConfigError(STAGE, error.message);
      throw error;
    }
    process.exit(0);
  },
};

export default command;
