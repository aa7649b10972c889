import { describe, expect, test } from "bun:test";
import { toAnalyticsJsonLine, toTsv } from "../../stages/enrich/output";
import { encodeCollectorPayload } from "../../stages/kafka/collector-payload";
import { EnrichedTsvError, parseEnrichedTsv } from "../../stages/kafka/enriched-tsv";
import { enrichedLine, enrichedMessage, messageId, plainLine, rawRecordLine, rawRecordMessage, type IncomingMessage } from "../../stages/kafka/formats";
import { entities, getRecord, goodEvents, postRecord, selfDescribingEvent } from "../enrich/helpers";
import { SAMPLE_PAYLOADS } from "./payload-samples";

const LINK_CLICK = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1";
const WEB_PAGE = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0";

function message(value: Buffer | string, key?: string, offset = 7n): IncomingMessage {
  return { key: key === undefined ? null : Buffer.from(key), value: Buffer.from(value), topic: "t", partition: 1, offset };
}

async function sampleEvents() {
  return goodEvents(
    postRecord([
      { p: "web", tv: "js-3", e: "pv", url: "https://shop.example.com/p", page: "Tab\there", co: entities({ schema: WEB_PAGE, data: { id: "0b9a1e2c-3d4f-4a5b-8c6d-7e8f9a0b1c2d" } }), cookie: "1", f_pdf: "0", dtm: "1764299990000", vid: "2" },
      { p: "web", tv: "js-3", e: "ue", ue_pr: selfDescribingEvent(LINK_CLICK, { targetUrl: "https://a.example/ü" }), uid: "alice" },
      { p: "web", tv: "js-3", e: "tr", tr_id: "o", tr_tt: "12.5", tr_tx: "1" },
    ]),
  );
}

describe("enriched TSV on Kafka", () => {
  test("read back, a TSV line gives the JSON line enrich would have written", async () => {
    for (const event of await sampleEvents()) {
      expect(toAnalyticsJsonLine(parseEnrichedTsv(toTsv(event)))).toBe(toAnalyticsJsonLine(event));
      expect(enrichedLine("tsv")(message(toTsv(event)))).toBe(toAnalyticsJsonLine(event));
    }
  });

  test("a line that is not 131 typed columns is refused, and passed on unchanged for the sink to refuse", () => {
    expect(() => parseEnrichedTsv("a\tb")).toThrow(EnrichedTsvError);
    expect(enrichedLine("tsv")(message("a\tb"))).toBe("a\tb");
  });

  test("--kafka-partition-key keys each event by that field; without it a random UUID", async () => {
    const [, click] = await sampleEvents();
    expect(enrichedMessage("tsv", "user_id")(toTsv(click!)).key.toString()).toBe("alice");
    expect(enrichedMessage("json", "user_id")(toAnalyticsJsonLine(click!)).key.toString()).toBe("alice");
    expect(enrichedMessage("tsv")(toTsv(click!)).key.toString()).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("raw records on Kafka", () => {
  test("a raw record line becomes Thrift keyed by its id, and comes back the same", () => {
    const record = { ...getRecord({ e: "pv", p: "web", tv: "js-3" }), id: "6a2f41a8-6e0a-4bd5-9d3b-8a7c3f1e2d10" };
    const produced = rawRecordMessage("thrift")(JSON.stringify(record));
    expect(produced.key.toString()).toBe(record.id);
    const line = rawRecordLine("thrift")(message(produced.value, produced.key.toString()));
    expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(record)));
  });

  test("a payload without a UUID key gets an id from its topic, partition and offset: the same on every read", () => {
    const bytes = Buffer.from(encodeCollectorPayload(SAMPLE_PAYLOADS[0]!));
    const first = JSON.parse(rawRecordLine("thrift")(message(bytes, "not-a-uuid", 7n))).id;
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(messageId(message(bytes, undefined, 7n))).toBe(first);
    expect(messageId(message(bytes, undefined, 8n))).not.toBe(first);
  });

  test("bytes that are not Thrift become their base64, one line that enrich refuses as a format violation", () => {
    expect(rawRecordLine("thrift")(message("{not thrift\n}"))).toBe(Buffer.from("{not thrift\n}").toString("base64"));
  });
});

test("a message is always one non-empty line", () => {
  expect(plainLine(message('{\n  "a": 1\n}'))).toBe('{"a":1}');
  expect(plainLine(message("x\ny"))).toBe("x y");
  expect(plainLine(message(""))).toBe('""');
});
