import { describe, expect, test } from "bun:test";
import { context, run, single } from "./helpers";

const HEADERS = [
  "Host: collector.example.com",
  "User-Agent: Mozilla/5.0",
  "Cookie: sp=4f7a1c3e-2b9d-4e8f-a1b2-c3d4e5f60718; _ga=GA1.2.1234567890.1764300000; theme=\"dark\"; flag",
  "X-Forwarded-For: 203.0.113.9, 10.0.0.1",
  "X-Request-Id: 9d1c2b",
  "application/json",
];

describe("cookie_extractor_config", () => {
  const CONFIG = "iglu:com.snowplowanalytics.snowplow/cookie_extractor_config/jsonschema/1-0-0";

  test("one http_cookie entity per wanted cookie, quotes removed", async () => {
    const { derived } = await run(await single(CONFIG, { cookies: ["sp", "theme", "absent"] }), context({}, { headers: HEADERS }));
    expect(derived).toEqual([
      { schema: "iglu:org.ietf/http_cookie/jsonschema/1-0-0", data: { name: "sp", value: "4f7a1c3e-2b9d-4e8f-a1b2-c3d4e5f60718" } },
      { schema: "iglu:org.ietf/http_cookie/jsonschema/1-0-0", data: { name: "theme", value: "dark" } },
    ]);
  });

  test("a cookie without a value has a null value; a lower-case header name still counts", async () => {
    const { derived } = await run(await single(CONFIG, { cookies: ["flag"] }), context({}, { headers: ["cookie: flag; other=1"] }));
    expect(derived).toEqual([{ schema: "iglu:org.ietf/http_cookie/jsonschema/1-0-0", data: { name: "flag", value: null } }]);
  });
});

describe("http_header_extractor_config", () => {
  const CONFIG = "iglu:com.snowplowanalytics.snowplow.enrichments/http_header_extractor_config/jsonschema/1-0-0";

  test("headers whose whole name matches the pattern, trimmed; the bare content-type element is not a header", async () => {
    const { derived } = await run(await single(CONFIG, { headersPattern: "X-.*" }), context({}, { headers: HEADERS }));
    expect(derived).toEqual([
      { schema: "iglu:org.ietf/http_header/jsonschema/1-0-0", data: { name: "X-Forwarded-For", value: "203.0.113.9, 10.0.0.1" } },
      { schema: "iglu:org.ietf/http_header/jsonschema/1-0-0", data: { name: "X-Request-Id", value: "9d1c2b" } },
    ]);
  });

  test(".* takes every header line; a partial match is not a match", async () => {
    expect((await run(await single(CONFIG, { headersPattern: ".*" }), context({}, { headers: HEADERS }))).derived).toHaveLength(5);
    expect((await run(await single(CONFIG, { headersPattern: "Host" }), context({}, { headers: ["Hostname: x"] }))).derived).toEqual([]);
  });

  test("a pattern that is not a regular expression is a config error", async () => {
    await expect(single(CONFIG, { headersPattern: "(unclosed" })).rejects.toThrow("parameters.headersPattern is not a regular expression");
  });
});
