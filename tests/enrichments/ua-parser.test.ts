import { describe, expect, test } from "bun:test";
import { CHROME_WINDOWS, context, run, SAFARI_IPHONE, single } from "./helpers";

const CONFIG = "iglu:com.snowplowanalytics.snowplow/ua_parser_config/jsonschema/1-0-0";
const CONTEXT = "iglu:com.snowplowanalytics.snowplow/ua_parser_context/jsonschema/1-0-0";

describe("ua_parser_config", () => {
  test("Chrome on Windows: every field of ua_parser_context", async () => {
    const { derived } = await run(await single(CONFIG, {}), context({ useragent: CHROME_WINDOWS }));
    expect(derived).toEqual([
      {
        schema: CONTEXT,
        data: {
          useragentFamily: "Chrome",
          useragentMajor: "120",
          useragentMinor: "0",
          useragentPatch: "0",
          useragentVersion: "Chrome 120.0.0",
          osFamily: "Windows",
          osMajor: "10",
          osMinor: null,
          osPatch: null,
          osPatchMinor: null,
          osVersion: "Windows 10",
          deviceFamily: "Other",
        },
      },
    ]);
  });

  test("Safari on an iPhone: mobile browser, iOS with patch version, the device", async () => {
    const { derived } = await run(await single(CONFIG, {}), context({ useragent: SAFARI_IPHONE }));
    const data = derived[0]!.data as Record<string, unknown>;
    expect(data.useragentFamily).toBe("Mobile Safari");
    expect([data.useragentMajor, data.useragentMinor, data.useragentPatch]).toEqual(["17", "1", "2"]);
    expect(data.osFamily).toBe("iOS");
    expect([data.osMajor, data.osMinor, data.osPatch]).toEqual(["17", "1", "2"]);
    expect(data.osVersion).toBe("iOS 17.1.2");
    expect(data.deviceFamily).toBe("iPhone");
  });

  test("an unrecognisable user agent is Other/Other/Other, as uap reports it", async () => {
    const { derived } = await run(await single(CONFIG, {}), context({ useragent: "curl/8.5.0" }));
    expect(derived[0]!.data).toMatchObject({ useragentFamily: "Other", useragentVersion: "Other", osFamily: "Other", deviceFamily: "Other" });
  });

  test("no user agent, no entity; each event gets its own copy of a cached answer", async () => {
    const enrichment = await single(CONFIG, {});
    expect((await run(enrichment, context())).derived).toEqual([]);
    const first = await run(enrichment, context({ useragent: CHROME_WINDOWS }));
    (first.derived[0]!.data as Record<string, unknown>).useragentFamily = "changed by a later enrichment";
    const second = await run(enrichment, context({ useragent: CHROME_WINDOWS }));
    expect((second.derived[0]!.data as Record<string, unknown>).useragentFamily).toBe("Chrome");
  });
});
