/**
 * `telemetry up` on a real Elasticsearch node of its own (scripts/es.sh) survives its faults with exact
 * counts (issue #10): each test injects one fault under a steady load from node trackers and logback, and
 * prints what it counted.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, test } from "bun:test";
import { ElasticsearchNode, es } from "../sink/helpers";
import { blockCollectOutput, elasticsearchStore, killStage, runFault, stopElasticsearch } from "./faults";
import { killUps } from "./harness";

let node: ElasticsearchNode;

beforeAll(async () => {
  node = await ElasticsearchNode.start();
}, 600_000);

afterAll(async () => {
  await node?.remove();
}, 120_000);

beforeEach(async () => {
  await es(node.url, "DELETE", "/good,bad,pii,logs-*?ignore_unavailable=true&allow_no_indices=true");
});

afterEach(killUps, 120_000);

describe("telemetry up on Elasticsearch, under load", () => {
  const faults = {
    "enrich killed": () => killStage("enrich"),
    "sink-good killed": () => killStage("sink-good"),
    "Elasticsearch stopped for 30 s": () => stopElasticsearch(node),
    "collect's stdout blocked": () => blockCollectOutput,
  };
  for (const [name, fault] of Object.entries(faults)) {
    test(`${name}: every event answered 200 stored once, every log line once`, () => runFault(fault(), elasticsearchStore(node.url)).then(() => {}), 600_000);
  }
});
