import { describe, expect, test } from "bun:test";
import { context, run, single } from "./helpers";

const CONFIG = "iglu:com.snowplowanalytics.snowplow/anon_ip/jsonschema/1-0-1";

async function anonymize(ip: string, parameters: object): Promise<string | null> {
  return (await run(await single(CONFIG, parameters), context({ user_ipaddress: ip }))).event.user_ipaddress;
}

describe("anon_ip", () => {
  test("IPv4: the last N octets become x (Snowplow's documented examples)", async () => {
    expect(await anonymize("94.15.223.151", { anonOctets: 1 })).toBe("94.15.223.x");
    expect(await anonymize("94.15.223.151", { anonOctets: 3 })).toBe("94.x.x.x");
    expect(await anonymize("94.15.223.151", { anonOctets: 4 })).toBe("x.x.x.x");
  });

  test("IPv6: written out in full, then the last N segments become x", async () => {
    expect(await anonymize("2605:2700:0:3::4713:93e3", { anonOctets: 1, anonSegments: 4 })).toBe("2605:2700:0:3:x:x:x:x");
    expect(await anonymize("2001:0db8:85a3::8a2e:0370:7334", { anonOctets: 1, anonSegments: 2 })).toBe("2001:db8:85a3:0:0:8a2e:x:x");
  });

  test("anonSegments defaults to anonOctets (1-0-0 configs have no anonSegments)", async () => {
    expect(await anonymize("2001:db8::1", { anonOctets: 2 })).toBe("2001:db8:0:0:0:0:x:x");
  });

  test("an IPv4-mapped IPv6 address keeps its prefix; a value with a port is masked part by part", async () => {
    expect(await anonymize("::ffff:94.15.223.151", { anonOctets: 2 })).toBe("::ffff:94.15.x.x");
    expect(await anonymize("94.15.223.151:8080", { anonOctets: 1 })).toBe("94.15.223.x");
  });

  test("out-of-range octets are a config error", async () => {
    await expect(single(CONFIG, { anonOctets: 5 })).rejects.toThrow("parameters.anonOctets must be an integer from 1 to 4");
  });
});
