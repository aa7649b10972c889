import { describe, expect, test } from "bun:test";
import { EnrichmentError, type Enrichment } from "../../stages/enrich/enrichments/types";
import { enrichLineProblemBadRow } from "../../stages/enrich/failures";
import { runEnrich } from "../../stages/enrich/stage";
import { readLineBatches } from "../../stages/shared/ndjson";
import { createBatchEnricher } from "../../stages/enrich/batch";
import { RAW_RECORD_SCHEMA } from "../../stages/shared/raw-record";
import { BadRowList, type BadRow } from "../../stages/shared/bad-rows";
import { Enricher } from "../../stages/enrich/enricher";
import { Resolver } from "../../stages/iglu/resolver";
import { badRows, badRowType, embeddedResolver, enricher, entities, getRecord, postRecord, PROCESSOR, rawRecord, selfDescribingEvent } from "./helpers";

const base = { p: "web", tv: "js-3.5.0" };

/** Every bad row must be valid against its own Iglu schema (shipped in schemas/, from Iglu Central). */
async function expectValidBadRow(row: BadRow): Promise<void> {
  const outcome = await (await embeddedResolver()).validate(row.schema, row.data);
  expect(outcome.ok ? "valid" : JSON.stringify(outcome.igluError)).toBe("valid");
}

async function only(record: unknown, enrichments: Enrichment[] = []): Promise<BadRow> {
  const rows = await badRows(record, enrichments);
  expect(rows).toHaveLength(1);
  await expectValidBadRow(rows[0]!);
  return rows[0]!;
}

async function linesThrough(lines: string[], maxOutputBytes = 1_000_000) {
  const bad = new BadRowList();
  const out: string[] = [];
  const chunks = (async function* () {
    yield new TextEncoder().encode(lines.join("\n") + "\n");
  })();
  const batches = readLineBatches(chunks, { maxLineBytes: 4096, onProblem: (problem) => bad.write(enrichLineProblemBadRow(problem, PROCESSOR, 4096)) });
  const enrich = createBatchEnricher({ enricher: await enricher(), format: "json", processor: PROCESSOR, maxOutputBytes, maxLineBytes: 4096 });
  const lineSink = (into: (line: string) => void) => ({ writeLines: (text: string) => text.trimEnd().split("\n").forEach(into) });
  await runEnrich(batches, enrich, lineSink((line) => out.push(line)), lineSink((line) => bad.write(JSON.parse(line))), { concurrency: 1 });
  return { out, bad: bad.rows };
}

describe("collector_payload_format_violation", () => {
  test("a line that is not JSON, carrying the line", async () => {
    const { bad } = await linesThrough(["{not json"]);
    expect(bad.map(badRowType)).toEqual(["collector_payload_format_violation"]);
    expect(bad[0]!.data.payload).toBe("{not json");
    await expectValidBadRow(bad[0]!);
  });

  test("not a line still arriving when enrich stopped: that is a generic_error saying so, with the fragment's head", async () => {
    const row = enrichLineProblemBadRow({ kind: "unfinished", number: 7, bytes: 12, head: '{"schema":"i' }, PROCESSOR, 4096);
    expect(badRowType(row)).toBe("generic_error");
    expect(row.data.payload).toBe('{"schema":"i');
    expect((row.data.failure as { errors: string[] }).errors[0]).toContain("stdin:7: line was still arriving when the stage stopped");
    await expectValidBadRow(row);
  });

  test("a line that is not UTF-8, carrying the line's base64", async () => {
    const bad = new BadRowList();
    const line = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
    const chunks = (async function* () {
      yield new Uint8Array([...line, 0x0a]);
    })();
    const batches = readLineBatches(chunks, { maxLineBytes: 4096, onProblem: (problem) => bad.write(enrichLineProblemBadRow(problem, PROCESSOR, 4096)) });
    for await (const batch of batches) expect(batch.texts).toEqual([]);
    expect(bad.rows.map(badRowType)).toEqual(["collector_payload_format_violation"]);
    expect(bad.rows[0]!.data.payload).toBe(Buffer.from(line).toString("base64"));
    await expectValidBadRow(bad.rows[0]!);
  });

  test("JSON that is not a raw record, a path that is no api, a querystring that does not decode, a nuid that is no UUID", async () => {
    const cases: [unknown, string][] = [
      [{ hello: "world" }, "schema"],
      [rawRecord({ path: "/favicon.ico" }), "path"],
      [rawRecord({ path: "/i", querystring: "e=pv&page=%E0%A4%A" }), "querystring"],
      [rawRecord({ networkUserId: "not-a-uuid" }), "networkUserId"],
      [{ ...rawRecord(), timestamp: "yesterday" }, "timestamp"],
    ];
    for (const [record, field] of cases) {
      const row = await only(record);
      expect(badRowType(row)).toBe("collector_payload_format_violation");
      expect((row.data.failure as { message: { payloadField: string } }).message.payloadField).toBe(field);
      expect(row.data.payload).toBe(JSON.stringify(record));
    }
  });
});

describe("adapter_failures and tracker_protocol_violations", () => {
  test("carry the request as collector-payload JSON", async () => {
    const raw = rawRecord({ path: "/com.acme/v1", querystring: "a=1&b", body: "x", contentType: "text/plain" });
    const row = await only(raw);
    expect(badRowType(row)).toBe("adapter_failures");
    expect(row.data.payload).toMatchObject({
      vendor: "com.acme", version: "v1", querystring: [{ name: "a", value: "1" }, { name: "b", value: null }], body: "x",
      contentType: "text/plain", collector: raw.collector, encoding: "UTF-8", ipAddress: raw.ipAddress,
      timestamp: new Date(raw.timestamp).toISOString(), useragent: raw.userAgent, headers: raw.headers,
    });
    const violation = await only(postRecord([{ e: "pv" }]));
    expect(badRowType(violation)).toBe("tracker_protocol_violations");
  });
});

describe("schema_violations", () => {
  test("atomic fields that do not convert, reported against the atomic schema by column", async () => {
    const row = await only(getRecord({ ...base, e: "pv", dtm: "soon", vid: "x" }));
    expect(badRowType(row)).toBe("schema_violations");
    const [message] = (row.data.failure as { messages: { schemaKey: string; error: { dataReports: { path: string }[] } }[] }).messages;
    expect(message!.schemaKey).toBe("iglu:com.snowplowanalytics.snowplow/atomic/jsonschema/1-0-0");
    expect(message!.error.dataReports.map((report) => report.path).sort()).toEqual(["domain_sessionidx", "dvce_created_tstamp"]);
    const payload = row.data.payload as { enriched: Record<string, unknown>; raw: { parameters: { name: string }[]; vendor: string } };
    expect(payload.enriched.collector_tstamp).toBe("2025-11-28 03:20:00.000");
    expect(payload.raw.parameters.map((parameter) => parameter.name)).toContain("dtm");
  });

  test("a self-describing event that is not JSON, not self-describing, of an unknown schema, or invalid", async () => {
    const expectations: [Record<string, string>, (message: Record<string, unknown>) => void][] = [
      [{ ue_pr: "{oops" }, (message) => expect(message.field).toBe("ue_pr")],
      [{ ue_pr: JSON.stringify({ data: {} }) }, (message) => expect(message.error).toBe("INVALID_DATA_PAYLOAD")],
      [{ ue_pr: JSON.stringify({ schema: "iglu:com.acme/x/jsonschema/1-0-0", data: {} }) }, (message) => expect(message.schemaCriterion).toBeString()],
      [
        { ue_pr: selfDescribingEvent("iglu:com.acme/missing/jsonschema/1-0-0", {}) },
        (message) => expect((message.error as { error: string }).error).toBe("ResolutionError"),
      ],
      [
        { ue_pr: selfDescribingEvent("iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1", { targetUrl: 42 }) },
        (message) => expect((message.error as { error: string }).error).toBe("ValidationError"),
      ],
    ];
    for (const [parameters, check] of expectations) {
      const row = await only(getRecord({ ...base, e: "ue", ...parameters }));
      expect(badRowType(row)).toBe("schema_violations");
      check((row.data.failure as { messages: Record<string, unknown>[] }).messages[0]!);
    }
  });

  test("an invalid entity among valid ones", async () => {
    const co = entities(
      { schema: "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0", data: { id: "0b9a1e2c-3d4f-4a5b-8c6d-7e8f9a0b1c2d" } },
      { schema: "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0", data: { id: "nope" } },
    );
    const row = await only(getRecord({ ...base, e: "pv", co }));
    const messages = (row.data.failure as { messages: { schemaKey: string }[] }).messages;
    expect(messages.map((message) => message.schemaKey)).toEqual(["iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"]);
  });

  test("a column longer than Enrich's limit", async () => {
    const row = await only(getRecord({ ...base, e: "pv", aid: "a".repeat(256) }));
    const report = (row.data.failure as { messages: { error: { dataReports: { path: string; keyword: string }[] } }[] }).messages[0]!.error.dataReports[0]!;
    expect([report.path, report.keyword]).toEqual(["app_id", "maxLength"]);
  });

  test("an entity an enrichment derived that fails its schema", async () => {
    const deriving: Enrichment = {
      name: "bad_entity",
      schemaKey: "iglu:com.acme/bad_entity/jsonschema/1-0-0",
      apply: ({ derived }) => void derived.push({ schema: "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0", data: { id: 1 } }),
    };
    expect(badRowType(await only(getRecord({ ...base, e: "pv" }), [deriving]))).toBe("schema_violations");
  });
});

describe("enrichment_failures", () => {
  test("an enrichment that throws, named by its schema key; an EnrichmentError names its own", async () => {
    const throwing: Enrichment[] = [
      { name: "plain", schemaKey: "iglu:com.acme/plain/jsonschema/1-0-0", apply: () => { throw new Error("boom"); } },
      {
        name: "typed",
        schemaKey: "iglu:com.acme/typed/jsonschema/1-0-0",
        apply: async () => { throw new EnrichmentError({ schemaKey: "iglu:com.acme/typed/jsonschema/1-0-0", identifier: "typed" }, "no lookup"); },
      },
    ];
    const row = await only(getRecord({ ...base, e: "pv" }), throwing);
    expect(badRowType(row)).toBe("enrichment_failures");
    expect((row.data.failure as { messages: unknown[] }).messages).toEqual([
      { enrichment: { schemaKey: "iglu:com.acme/plain/jsonschema/1-0-0", identifier: "plain" }, message: { error: "boom" } },
      { enrichment: { schemaKey: "iglu:com.acme/typed/jsonschema/1-0-0", identifier: "typed" }, message: { error: "no lookup" } },
    ]);
  });

  test("Enrich's own steps: a page URL that is not a URL, a ue without its event, an empty collector name", async () => {
    for (const record of [
      getRecord({ ...base, e: "pv", url: "not a url" }),
      getRecord({ ...base, e: "ue" }),
      getRecord({ ...base, e: "ad" }),
      getRecord({ ...base, e: "pv" }, { collector: "" }),
    ]) {
      const row = await only(record);
      expect(badRowType(row)).toBe("enrichment_failures");
      expect((row.data.failure as { messages: { enrichment: unknown }[] }).messages[0]!.enrichment).toBeNull();
    }
  });

  test("one bad row per failed event: the good events of the same request still go through", async () => {
    const outcomes = await (await enricher()).enrichRecord(postRecord([{ ...base, e: "pv" }, { ...base, e: "pv", url: "::" }, { ...base, e: "pp" }]), "");
    expect(outcomes.map((outcome) => ("good" in outcome ? "good" : badRowType(outcome.bad)))).toEqual(["good", "enrichment_failures", "good"]);
  });
});

describe("size_violation", () => {
  test("an enriched event too big for the next stage, and an input line over the limit", async () => {
    const { out, bad } = await linesThrough([JSON.stringify(getRecord({ ...base, e: "pv", page: "x".repeat(1500) })), "y".repeat(5000)], 2000);
    expect(out).toEqual([]);
    expect(bad.map(badRowType).sort()).toEqual(["size_violation", "size_violation"]);
    for (const row of bad) await expectValidBadRow(row);
    // The payload is the head of what was too big, as a plain string: a tenth of the limit of the enriched
    // event, the first bytes of the input line.
    const payloads = bad.map((row) => row.data.payload as string);
    expect(payloads.find((payload) => payload.startsWith("{"))).toHaveLength(200);
    expect(payloads.find((payload) => payload.startsWith("y"))).toMatch(/^y+$/);
  });
});

describe("no single line or event can fail its batch", () => {
  test("a collector timestamp outside years 0–9999 is a collector_payload_format_violation; the batch goes on", async () => {
    const { out, bad } = await linesThrough([
      JSON.stringify(getRecord({ ...base, e: "pv", aid: "before" })),
      JSON.stringify(getRecord({ ...base, e: "pv" }, { timestamp: 1e20 })),
      JSON.stringify(getRecord({ ...base, e: "pv", aid: "after" })),
    ]);
    expect(out.map((line) => JSON.parse(line).app_id)).toEqual(["before", "after"]);
    expect(bad.map(badRowType)).toEqual(["collector_payload_format_violation"]);
    expect((bad[0]!.data.failure as { message: { payloadField: string } }).message.payloadField).toBe("timestamp");
    await expectValidBadRow(bad[0]!);
  });

  test("an enrichment that sets a timestamp no date can hold fails that event only", async () => {
    const farFuture: Enrichment = { name: "far_future", schemaKey: "iglu:com.acme/far_future/jsonschema/1-0-0", apply: ({ event }) => void (event.true_tstamp = 1e20) };
    const bad = new BadRowList();
    const out: string[] = [];
    const enrich = createBatchEnricher({ enricher: await enricher([farFuture]), format: "json", processor: PROCESSOR, maxOutputBytes: 1_000_000, maxLineBytes: 4096 });
    const result = await enrich({ texts: [JSON.stringify(postRecord([{ ...base, e: "pv" }, { ...base, e: "pp" }]))], numbers: [1] });
    out.push(...result.good.trimEnd().split("\n").filter(Boolean));
    for (const line of result.bad.trimEnd().split("\n").filter(Boolean)) bad.write(JSON.parse(line));
    expect(out).toEqual([]);
    expect(bad.rows.map(badRowType)).toEqual(["generic_error", "generic_error"]);
    // The payload is the input line, so the request can be replayed once the enrichment is fixed.
    expect(JSON.parse(bad.rows[0]!.data.payload as string).schema).toBe(RAW_RECORD_SCHEMA);
    expect((bad.rows[0]!.data.failure as { errors: string[] }).errors[0]).toContain("Invalid Date");
    for (const row of bad.rows) await expectValidBadRow(row);
  });

  test("a line whose enriching throws is a generic_error carrying the line; the other lines of the batch are written", async () => {
    const throwing = { enrichRecord: async (value: unknown) => {
      if ((value as { id: string }).id === "boom") throw new TypeError("something broke");
      return (await enricher()).enrichRecord(value, "");
    } } as unknown as Enricher;
    const enrich = createBatchEnricher({ enricher: throwing, format: "tsv", processor: PROCESSOR, maxOutputBytes: 1_000_000, maxLineBytes: 4096 });
    const lines = [getRecord({ ...base, e: "pv" }), { ...getRecord({ ...base, e: "pv" }), id: "boom" }, getRecord({ ...base, e: "pv" })].map((record) => JSON.stringify(record));
    const result = await enrich({ texts: lines, numbers: [1, 2, 3] });
    expect(result.goodCount).toBe(2);
    const rows = result.bad.trimEnd().split("\n").map((line) => JSON.parse(line) as BadRow);
    expect(rows.map(badRowType)).toEqual(["generic_error"]);
    expect(rows[0]!.data.payload).toBe(lines[1]);
    expect((rows[0]!.data.failure as { errors: string[] }).errors[0]).toContain("line 2");
    await expectValidBadRow(rows[0]!);
  });
});

describe("bad-row timestamps", () => {
  test("a schema_violations row is stamped after the lookups its lookupHistory records, never before", async () => {
    // A registry that takes a moment to say it has no such schema, so a lookup clearly ends after the event began.
    const registry = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async () => {
        await Bun.sleep(50);
        return new Response(JSON.stringify({ message: "The schema is not found" }), { status: 404 });
      },
    });
    try {
      const resolver = await Resolver.load(`http://127.0.0.1:${registry.port}/api`);
      const enricher = new Enricher({ resolver, enrichments: [], processor: PROCESSOR });
      const record = getRecord({ ...base, e: "ue", ue_pr: selfDescribingEvent("iglu:com.acme/missing/jsonschema/1-0-0", {}) });
      const outcomes = await enricher.enrichRecord(structuredClone(record), JSON.stringify(record));
      const row = outcomes.flatMap((outcome) => ("bad" in outcome ? [outcome.bad] : []))[0]!;
      expect(badRowType(row)).toBe("schema_violations");
      const failure = row.data.failure as { timestamp: string; messages: { error: { lookupHistory?: { lastAttempt: string }[] } }[] };
      const attempts = failure.messages.flatMap((message) => message.error.lookupHistory ?? []).map((entry) => entry.lastAttempt);
      expect(attempts.length).toBeGreaterThan(0);
      for (const lastAttempt of attempts) expect(Date.parse(lastAttempt)).toBeLessThanOrEqual(Date.parse(failure.timestamp));
    } finally {
      await registry.stop(true);
    }
  });
});
