import { describe, expect, test } from "bun:test";
import { CHROME_WINDOWS, context, GOOGLEBOT, run, single } from "./helpers";

const CONFIG = "iglu:com.snowplowanalytics.snowplow.enrichments/iab_spiders_and_robots_enrichment/jsonschema/1-0-1";
const ENTITY = "iglu:com.iab.snowplow/spiders_and_robots/jsonschema/1-0-0";
const LICENSED_FILES = {
  ipFile: { database: "ip_exclude_current_cidr.txt", uri: "s3://my-private-bucket/iab" },
  excludeUseragentFile: { database: "exclude_current.txt", uri: "s3://my-private-bucket/iab" },
  includeUseragentFile: { database: "include_current.txt", uri: "s3://my-private-bucket/iab" },
};

describe("iab_spiders_and_robots_enrichment (isbot in place of the licensed IAB list)", () => {
  test("a real browser passes all checks", async () => {
    const { derived } = await run(await single(CONFIG, LICENSED_FILES), context({ useragent: CHROME_WINDOWS, user_ipaddress: "128.101.101.101" }));
    expect(derived).toEqual([{ schema: ENTITY, data: { spiderOrRobot: false, category: "BROWSER", reason: "PASSED_ALL", primaryImpact: "NONE" } }]);
  });

  test("Googlebot is a spider, failing the user-agent exclude check", async () => {
    const { derived } = await run(await single(CONFIG, LICENSED_FILES), context({ useragent: GOOGLEBOT, user_ipaddress: "66.249.66.1" }));
    expect(derived).toEqual([{ schema: ENTITY, data: { spiderOrRobot: true, category: "SPIDER_OR_ROBOT", reason: "FAILED_UA_EXCLUDE", primaryImpact: "UNKNOWN" } }]);
  });

  test("the config's own include and exclude user-agent lists apply", async () => {
    const enrichment = await single(CONFIG, { ...LICENSED_FILES, excludeUseragents: ["InternalMonitor"], includeUseragents: ["mozilla"] });
    const monitor = await run(enrichment, context({ useragent: `${CHROME_WINDOWS} InternalMonitor/1.0`, user_ipaddress: "10.1.2.3" }));
    expect(monitor.derived[0]!.data).toMatchObject({ spiderOrRobot: true, reason: "FAILED_UA_EXCLUDE" });
    const notMozilla = await run(enrichment, context({ useragent: "Opera/9.80 (Windows NT 6.1) Presto/2.12.388 Version/12.18", user_ipaddress: "10.1.2.3" }));
    expect(notMozilla.derived[0]!.data).toMatchObject({ spiderOrRobot: true, reason: "FAILED_UA_INCLUDE" });
  });

  test("without a user agent or an IP address there is no entity", async () => {
    const enrichment = await single(CONFIG, LICENSED_FILES);
    expect((await run(enrichment, context({ user_ipaddress: "1.2.3.4" }))).derived).toEqual([]);
    expect((await run(enrichment, context({ useragent: CHROME_WINDOWS }))).derived).toEqual([]);
  });
});
