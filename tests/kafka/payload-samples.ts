/** CollectorPayloads covering each field, empty and full, non-ASCII text and a large body. */
import type { CollectorPayload } from "../../stages/kafka/collector-payload";

const SCHEMA = "iglu:com.snowplowanalytics.snowplow/CollectorPayload/thrift/1-0-0";

export const SAMPLE_PAYLOADS: CollectorPayload[] = [
  {
    schema: SCHEMA,
    timestamp: 1764299990123,
    ipAddress: "203.0.113.7",
    encoding: "UTF-8",
    collector: "telemetry-collect-0.1.0",
    path: "/i",
    querystring: "e=pv&url=https%3A%2F%2Fshop.example.com%2F&aid=shop",
    headers: ["Host: collector.example.com", "Accept: */*"],
  },
  {
    schema: SCHEMA,
    timestamp: 0,
    ipAddress: "unknown",
    encoding: "UTF-8",
    collector: "telemetry-collect-0.1.0",
    path: "/com.snowplowanalytics.snowplow/tp2",
    querystring: "",
    headers: [],
    body: JSON.stringify({ schema: "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", data: [{ e: "se", se_ca: "Zürich ☃ 東京", se_ac: "a\tb\nc" }] }),
    contentType: "application/json; charset=UTF-8",
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0",
    refererUri: "https://shop.example.com/ü?x=1",
    hostname: "collector.example.com",
    networkUserId: "8f5e2e1b-9a41-4c2e-b8e3-3f0e4f6a7b8c",
  },
  {
    schema: SCHEMA,
    timestamp: 253402300799999,
    ipAddress: "2001:db8::1",
    encoding: "UTF-8",
    collector: "ssc-3.5.0-kafka",
    path: "/com.snowplowanalytics.snowplow/tp2",
    querystring: "a=1",
    headers: Array.from({ length: 40 }, (_, n) => `X-Header-${n}: ${"v".repeat(n)}`),
    body: "x".repeat(300_000),
  },
];
