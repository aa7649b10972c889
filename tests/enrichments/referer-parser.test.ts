import { describe, expect, test } from "bun:test";
import { context, run, single } from "./helpers";

const SCHEMA = "iglu:com.snowplowanalytics.snowplow/referer_parser/jsonschema/2-0-1";
const PARAMETERS = {
  internalDomains: ["blog.example.com"],
  database: "referers-latest.json",
  uri: "https://assets.example.invalid/referer-parser/",
};

async function refer(referrer: string, pageHost = "www.example.com", parameters: object = PARAMETERS) {
  const enrichment = await single(SCHEMA, parameters);
  const { event } = await run(enrichment, context({ page_referrer: referrer, page_urlhost: pageHost }));
  return [event.refr_medium, event.refr_source, event.refr_term];
}

describe("referer_parser", () => {
  test("search engines: medium, source and the search term from their own parameter", async () => {
    expect(await refer("https://www.google.com/search?q=snowplow+analytics&hl=en")).toEqual(["search", "Google", "snowplow analytics"]);
    expect(await refer("https://www.google.co.uk/search?q=running%20shoes")).toEqual(["search", "Google", "running shoes"]);
    expect(await refer("https://www.bing.com/search?q=bun+runtime&form=QBLH")).toEqual(["search", "Bing", "bun runtime"]);
    expect(await refer("https://search.yahoo.com/search?p=weather+paris")).toEqual(["search", "Yahoo!", "weather paris"]);
    expect(await refer("https://yandex.ru/search/?text=%D0%BF%D0%BE%D0%B3%D0%BE%D0%B4%D0%B0")).toEqual(["search", "Yandex", "погода"]);
    expect(await refer("https://duckduckgo.com/?q=privacy&ia=web")).toEqual(["search", "DuckDuckGo", "privacy"]);
  });

  test("a search referer without a term has no refr_term", async () => {
    expect(await refer("https://www.google.com/")).toEqual(["search", "Google", null]);
  });

  test("social networks and webmail", async () => {
    expect(await refer("https://www.facebook.com/")).toEqual(["social", "Facebook", null]);
    expect(await refer("https://t.co/AbCdEf123")).toEqual(["social", "Twitter", null]);
    expect(await refer("https://www.linkedin.com/feed/")).toEqual(["social", "LinkedIn", null]);
    expect(await refer("https://mail.google.com/mail/u/0/")).toEqual(["email", "Gmail", null]);
  });

  test("the page's own host and configured internal domains are internal", async () => {
    expect(await refer("https://www.example.com/pricing")).toEqual(["internal", null, null]);
    expect(await refer("https://blog.example.com/post/1")).toEqual(["internal", null, null]);
  });

  test("an unlisted site is unknown; a referer that is not http(s) is left alone", async () => {
    expect(await refer("https://some-small-blog.example.net/article")).toEqual(["unknown", null, null]);
    expect(await refer("file:///home/user/page.html")).toEqual([null, null, null]);
    expect(await refer("not a url")).toEqual([null, null, null]);
  });

  test("the config's own referrers (2-0-1) classify hosts the database does not know", async () => {
    const parameters = {
      ...PARAMETERS,
      referrers: {
        search: { "Acme Search": { domains: ["search.acme.com"], parameters: ["query"] } },
        social: { "Acme Social": { domains: ["social.acme.com"] } },
      },
    };
    expect(await refer("https://search.acme.com/results?query=widgets", "www.example.com", parameters)).toEqual(["search", "Acme Search", "widgets"]);
    expect(await refer("https://social.acme.com/u/1", "www.example.com", parameters)).toEqual(["social", "Acme Social", null]);
  });

  test("the Snowplow Mini 1-0-0 config (internalDomains only) works too", async () => {
    const enrichment = await single("iglu:com.snowplowanalytics.snowplow/referer_parser/jsonschema/1-0-0", { internalDomains: [] });
    const { event } = await run(enrichment, context({ page_referrer: "https://www.google.de/search?q=wetter", page_urlhost: "example.com" }));
    expect([event.refr_medium, event.refr_source, event.refr_term]).toEqual(["search", "Google", "wetter"]);
  });
});
