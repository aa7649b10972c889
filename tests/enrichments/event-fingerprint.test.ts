import { describe, expect, test } from "bun:test";
import { context, run, single } from "./helpers";

const CONFIG = "iglu:com.snowplowanalytics.snowplow/event_fingerprint_config/jsonschema/1-0-1";
const PAGE_VIEW = {
  e: "pv",
  url: "https://www.example.com/",
  page: "Home",
  tv: "js-4.8.0",
  p: "web",
  aid: "site",
  eid: "7b7f7d45-23d5-4a79-a5a9-9a2a4f6f1c3e",
  stm: "1764300000123",
  dtm: "1764300000000",
};

/** Snowplow's input, written out by hand: names sorted, each name and value followed by U+001F. */
function expectedInput(parameters: Record<string, string>, excluded: string[]): string {
  const names = Object.keys(parameters).filter((name) => !excluded.includes(name)).sort();
  return names.map((name) => `${name}\u001f${parameters[name]}\u001f`).join("");
}

describe("event_fingerprint_config", () => {
  test("MD5 over the sorted parameters minus the excluded ones", async () => {
    const enrichment = await single(CONFIG, { excludeParameters: ["eid", "nuid", "stm", "cv"], hashAlgorithm: "MD5" });
    const { event } = await run(enrichment, context({}, { parameters: PAGE_VIEW }));
    const input = "aid\u001fsite\u001fdtm\u001f1764300000000\u001fe\u001fpv\u001fp\u001fweb\u001fpage\u001fHome\u001ftv\u001fjs-4.8.0\u001furl\u001fhttps://www.example.com/\u001f";
    expect(expectedInput(PAGE_VIEW, ["eid", "nuid", "stm", "cv"])).toBe(input);
    expect(event.event_fingerprint).toBe(new Bun.CryptoHasher("md5").update(input).digest("hex"));
  });

  test("a retry with a new eid and stm has the same fingerprint; a different event does not", async () => {
    const enrichment = await single(CONFIG, { excludeParameters: ["eid", "stm"], hashAlgorithm: "SHA256" });
    const first = await run(enrichment, context({}, { parameters: PAGE_VIEW }));
    const retry = await run(enrichment, context({}, { parameters: { ...PAGE_VIEW, eid: "0e1d9c44-0000-4000-8000-000000000000", stm: "1764300009999" } }));
    const other = await run(enrichment, context({}, { parameters: { ...PAGE_VIEW, page: "About" } }));
    expect(first.event.event_fingerprint).toHaveLength(64);
    expect(retry.event.event_fingerprint).toBe(first.event.event_fingerprint);
    expect(other.event.event_fingerprint).not.toBe(first.event.event_fingerprint);
  });

  test("each algorithm Snowplow offers, hex-encoded", async () => {
    const input = expectedInput(PAGE_VIEW, []);
    for (const [name, hasher] of [["SHA1", "sha1"], ["SHA384", "sha384"], ["SHA512", "sha512"]] as const) {
      const enrichment = await single(CONFIG, { excludeParameters: [], hashAlgorithm: name });
      const { event } = await run(enrichment, context({}, { parameters: PAGE_VIEW }));
      expect(event.event_fingerprint).toBe(new Bun.CryptoHasher(hasher).update(input).digest("hex"));
    }
  });

  test("an unknown algorithm is a config error naming the choices", async () => {
    await expect(single(CONFIG, { excludeParameters: [], hashAlgorithm: "CRC32" })).rejects.toThrow(
      "parameters.hashAlgorithm must be one of MD5, SHA1, SHA256, SHA384, SHA512",
    );
  });
});
