import { describe, expect, test } from "bun:test";
import { parseDecimal, parseInteger, parseTimestamp, Rejection, tsvSafe, firstAddress } from "../../stages/enrich/conversions";
import { newEnrichedEvent } from "../../stages/enrich/event";
import { mapParameters } from "../../stages/enrich/field-mapping";

function mapped(parameters: Record<string, string>) {
  const event = newEnrichedEvent();
  const failures = mapParameters(Object.assign(Object.create(null), parameters), event);
  return { event, failures };
}

describe("conversions", () => {
  test("strings are made TSV-safe: tab → four spaces, control characters dropped, empty → null", () => {
    expect(tsvSafe("a\tb")).toBe("a    b");
    expect(tsvSafe("line\r\nbreak\u0007")).toBe("linebreak");
    expect(tsvSafe("\n")).toBeNull();
    expect(tsvSafe("")).toBeNull();
    expect(tsvSafe("plain ü")).toBe("plain ü");
  });

  test("integers are Java ints; decimals accept exponents; timestamps stay within years 0–9999", () => {
    expect(parseInteger("-42")).toBe(-42);
    expect(parseInteger("2147483648")).toBeInstanceOf(Rejection);
    expect(parseInteger("1.5")).toBeInstanceOf(Rejection);
    expect(parseDecimal("12.50")).toBe(12.5);
    expect(parseDecimal("1e3")).toBe(1000);
    expect(parseDecimal("12,5")).toBeInstanceOf(Rejection);
    expect(parseTimestamp("1764300000000")).toBe(1764300000000);
    expect(parseTimestamp("253402300800000")).toBeInstanceOf(Rejection);
    expect(parseTimestamp("17643e5")).toBeInstanceOf(Rejection);
  });

  test("the first address of a forwarded list", () => {
    expect(firstAddress(" 198.51.100.7, 10.0.0.1")).toBe("198.51.100.7");
    expect(firstAddress("2001:db8::1|10.0.0.1")).toBe("2001:db8::1");
  });
});

describe("field mapping", () => {
  test("every tracker parameter lands in its column, converted", () => {
    const { event, failures } = mapped({
      e: "pv", eid: "A1B2C3D4-0000-4000-8000-00000000000F", aid: "shop", p: "web", tv: "js-3.5.0", tna: "sp1", tid: "12345",
      dtm: "1764299990000", stm: "1764299995000", ttm: "1764299980000", tz: "Europe/Paris", lang: "fr-FR", uid: "user@example.com",
      duid: "d-u-i-d", nuid: "11111111-1111-4111-8111-111111111111", vid: "3", sid: "22222222-2222-4222-8222-222222222222",
      ip: "198.51.100.7", ua: "UA override", fp: "123456", res: "1920x1080", vp: "1280x720", ds: "1280x4000", cd: "24",
      cs: "UTF-8", cookie: "1", f_pdf: "1", f_fla: "0", f_java: "0", f_dir: "0", f_qt: "1", f_realp: "0", f_wma: "0",
      f_gears: "0", f_ag: "1", url: "https://shop.example.com/", refr: "https://search.example.com/?q=x", page: "Home",
      cv: "custom-collector", se_ca: "cat", se_ac: "act", se_la: "lab", se_pr: "prop", se_va: "2.5",
      tr_id: "order-1", tr_af: "aff", tr_tt: "99.90", tr_tx: "9.99", tr_sh: "5", tr_ci: "Paris", tr_st: "IDF", tr_co: "FR", tr_cu: "EUR",
      ti_id: "order-1", ti_sk: "sku-1", ti_nm: "Thing", ti_ca: "stuff", ti_pr: "33.30", ti_qu: "3", ti_cu: "EUR",
      pp_mix: "0", pp_max: "100", pp_miy: "-5", pp_may: "2000", unknown_param: "ignored",
    });
    expect(failures).toEqual([]);
    expect(event).toMatchObject({
      event: "page_view", event_id: "a1b2c3d4-0000-4000-8000-00000000000f", app_id: "shop", platform: "web", v_tracker: "js-3.5.0",
      name_tracker: "sp1", txn_id: 12345, dvce_created_tstamp: 1764299990000, dvce_sent_tstamp: 1764299995000,
      true_tstamp: 1764299980000, os_timezone: "Europe/Paris", br_lang: "fr-FR", user_id: "user@example.com", domain_userid: "d-u-i-d",
      network_userid: "11111111-1111-4111-8111-111111111111", domain_sessionidx: 3, domain_sessionid: "22222222-2222-4222-8222-222222222222",
      user_ipaddress: "198.51.100.7", useragent: "UA override", user_fingerprint: "123456", dvce_screenwidth: 1920, dvce_screenheight: 1080,
      br_viewwidth: 1280, br_viewheight: 720, doc_width: 1280, doc_height: 4000, br_colordepth: "24", doc_charset: "UTF-8",
      br_cookies: true, br_features_pdf: true, br_features_flash: false, br_features_java: false, br_features_director: false,
      br_features_quicktime: true, br_features_realplayer: false, br_features_windowsmedia: false, br_features_gears: false,
      br_features_silverlight: true, page_url: "https://shop.example.com/", page_referrer: "https://search.example.com/?q=x",
      page_title: "Home", v_collector: "custom-collector", se_category: "cat", se_action: "act", se_label: "lab", se_property: "prop",
      se_value: 2.5, tr_orderid: "order-1", tr_affiliation: "aff", tr_total: 99.9, tr_tax: 9.99, tr_shipping: 5, tr_city: "Paris",
      tr_state: "IDF", tr_country: "FR", tr_currency: "EUR", ti_orderid: "order-1", ti_sku: "sku-1", ti_name: "Thing",
      ti_category: "stuff", ti_price: 33.3, ti_quantity: 3, ti_currency: "EUR", pp_xoffset_min: 0, pp_xoffset_max: 100,
      pp_yoffset_min: -5, pp_yoffset_max: 2000,
    });
  });

  test("legacy names: ev_* for structured events, ti_na for the item name", () => {
    const { event } = mapped({ e: "ev", ev_ca: "c", ev_ac: "a", ev_la: "l", ev_pr: "p", ev_va: "7", ti_na: "old name" });
    expect([event.event, event.se_category, event.se_action, event.se_label, event.se_property, event.se_value, event.ti_name]).toEqual([
      "struct", "c", "a", "l", "p", 7, "old name",
    ]);
  });

  test("tnuid beats nuid whatever their order", () => {
    expect(mapped({ e: "pv", tnuid: "from-tnuid", nuid: "from-nuid" }).event.network_userid).toBe("from-tnuid");
  });

  test("values that do not convert are reported by column and leave the column empty", () => {
    const { event, failures } = mapped({ e: "xx", eid: "not-a-uuid", p: "fridge", dtm: "yesterday", vid: "1.5", res: "big", cookie: "yes", se_va: "lots", sid: "s" });
    expect(failures.map((failure) => failure.field).sort()).toEqual(
      ["br_cookies", "domain_sessionid", "domain_sessionidx", "dvce_created_tstamp", "dvce_screenwidth", "event", "event_id", "platform", "se_value"],
    );
    expect(failures.find((failure) => failure.field === "dvce_created_tstamp")).toMatchObject({ parameter: "dtm", value: "yesterday" });
    expect([event.event, event.dvce_created_tstamp, event.domain_sessionidx, event.se_value]).toEqual([null, null, null, null]);
  });

  test("a missing event type is a failure; empty values count as absent", () => {
    expect(mapped({ p: "web" }).failures.map((failure) => failure.field)).toEqual(["event"]);
    expect(mapped({ e: "pv", vid: "", dtm: "" }).failures).toEqual([]);
  });

  test("tabs and line breaks never reach a column", () => {
    expect(mapped({ e: "pv", page: "Title\twith\ttabs\r\n" }).event.page_title).toBe("Title    with    tabs");
  });
});
