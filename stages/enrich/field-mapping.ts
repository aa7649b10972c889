/**
 * The tracker-protocol field mapper: each known parameter into its enriched column(s), converted and checked
 * as Enrich does (snowplow-pipeline.md §2.3). Unknown parameters are ignored. A value that cannot be
 * converted leaves its column empty and is reported, which makes the event a schema violation.
 */
import {
  firstAddress,
  parseBooleanFlag,
  parseDecimal,
  parseDimensions,
  parseInteger,
  parseTimestamp,
  parseUuid,
  Rejection,
  tsvSafe,
} from "./conversions";
import type { EnrichedEvent, EnrichedFieldName } from "./event";
import type { Parameters } from "./querystring";

/** A parameter whose value could not become its column. */
export interface FieldFailure {
  field: EnrichedFieldName;
  parameter: string;
  value: string;
  expectation: string;
}

type Setter = (event: EnrichedEvent, value: string) => Rejection | void;
type Writable = Record<EnrichedFieldName, unknown>;

export const EVENT_TYPES: Readonly<Record<string, string>> = {
  pv: "page_view",
  pp: "page_ping",
  se: "struct",
  ev: "struct",
  ue: "unstruct",
  tr: "transaction",
  ti: "transaction_item",
  ad: "ad_impression",
};

export const PLATFORMS = new Set(["web", "mob", "pc", "srv", "app", "tv", "cnsl", "iot", "headset"]);

function text(field: EnrichedFieldName): Setter {
  return (event, value) => {
    (event as Writable)[field] = tsvSafe(value);
  };
}

function converted(field: EnrichedFieldName, parse: (value: string) => unknown): Setter {
  return (event, value) => {
    const result = parse(value);
    if (result instanceof Rejection) return result;
    (event as Writable)[field] = result;
  };
}

function dimensions(widthField: EnrichedFieldName, heightField: EnrichedFieldName): Setter {
  return (event, value) => {
    const result = parseDimensions(value);
    if (result instanceof Rejection) return result;
    (event as Writable)[widthField] = result[0];
    (event as Writable)[heightField] = result[1];
  };
}

const integer = (field: EnrichedFieldName) => converted(field, parseInteger);
const decimal = (field: EnrichedFieldName) => converted(field, parseDecimal);
const timestamp = (field: EnrichedFieldName) => converted(field, parseTimestamp);
const flag = (field: EnrichedFieldName) => converted(field, parseBooleanFlag);
const uuid = (field: EnrichedFieldName) => converted(field, parseUuid);

/** parameter → [column it fills (named in failures), how]. */
const MAPPING = new Map<string, readonly [EnrichedFieldName, Setter]>(Object.entries({
  e: ["event", converted("event", (value) => EVENT_TYPES[value] ?? new Rejection("an event type: pv, pp, se, ue, tr, ti"))],
  eid: ["event_id", uuid("event_id")],
  aid: ["app_id", text("app_id")],
  p: ["platform", converted("platform", (value) => (PLATFORMS.has(value) ? value : new Rejection(`a platform: ${[...PLATFORMS].join(", ")}`)))],
  tv: ["v_tracker", text("v_tracker")],
  tna: ["name_tracker", text("name_tracker")],
  tid: ["txn_id", integer("txn_id")],
  dtm: ["dvce_created_tstamp", timestamp("dvce_created_tstamp")],
  stm: ["dvce_sent_tstamp", timestamp("dvce_sent_tstamp")],
  ttm: ["true_tstamp", timestamp("true_tstamp")],
  tz: ["os_timezone", text("os_timezone")],
  lang: ["br_lang", text("br_lang")],
  uid: ["user_id", text("user_id")],
  duid: ["domain_userid", text("domain_userid")],
  nuid: ["network_userid", text("network_userid")],
  vid: ["domain_sessionidx", integer("domain_sessionidx")],
  sid: ["domain_sessionid", uuid("domain_sessionid")],
  ip: ["user_ipaddress", converted("user_ipaddress", firstAddress)],
  ua: ["useragent", text("useragent")],
  fp: ["user_fingerprint", text("user_fingerprint")],
  res: ["dvce_screenwidth", dimensions("dvce_screenwidth", "dvce_screenheight")],
  vp: ["br_viewwidth", dimensions("br_viewwidth", "br_viewheight")],
  ds: ["doc_width", dimensions("doc_width", "doc_height")],
  cd: ["br_colordepth", text("br_colordepth")],
  cs: ["doc_charset", text("doc_charset")],
  cookie: ["br_cookies", flag("br_cookies")],
  f_pdf: ["br_features_pdf", flag("br_features_pdf")],
  f_fla: ["br_features_flash", flag("br_features_flash")],
  f_java: ["br_features_java", flag("br_features_java")],
  f_dir: ["br_features_director", flag("br_features_director")],
  f_qt: ["br_features_quicktime", flag("br_features_quicktime")],
  f_realp: ["br_features_realplayer", flag("br_features_realplayer")],
  f_wma: ["br_features_windowsmedia", flag("br_features_windowsmedia")],
  f_gears: ["br_features_gears", flag("br_features_gears")],
  f_ag: ["br_features_silverlight", flag("br_features_silverlight")],
  url: ["page_url", text("page_url")],
  refr: ["page_referrer", text("page_referrer")],
  page: ["page_title", text("page_title")],
  cv: ["v_collector", text("v_collector")],
  se_ca: ["se_category", text("se_category")],
  se_ac: ["se_action", text("se_action")],
  se_la: ["se_label", text("se_label")],
  se_pr: ["se_property", text("se_property")],
  se_va: ["se_value", decimal("se_value")],
  ev_ca: ["se_category", text("se_category")],
  ev_ac: ["se_action", text("se_action")],
  ev_la: ["se_label", text("se_label")],
  ev_pr: ["se_property", text("se_property")],
  ev_va: ["se_value", decimal("se_value")],
  tr_id: ["tr_orderid", text("tr_orderid")],
  tr_af: ["tr_affiliation", text("tr_affiliation")],
  tr_tt: ["tr_total", decimal("tr_total")],
  tr_tx: ["tr_tax", decimal("tr_tax")],
  tr_sh: ["tr_shipping", decimal("tr_shipping")],
  tr_ci: ["tr_city", text("tr_city")],
  tr_st: ["tr_state", text("tr_state")],
  tr_co: ["tr_country", text("tr_country")],
  tr_cu: ["tr_currency", text("tr_currency")],
  ti_id: ["ti_orderid", text("ti_orderid")],
  ti_sk: ["ti_sku", text("ti_sku")],
  ti_nm: ["ti_name", text("ti_name")],
  ti_na: ["ti_name", text("ti_name")],
  ti_ca: ["ti_category", text("ti_category")],
  ti_pr: ["ti_price", decimal("ti_price")],
  ti_qu: ["ti_quantity", integer("ti_quantity")],
  ti_cu: ["ti_currency", text("ti_currency")],
  pp_mix: ["pp_xoffset_min", integer("pp_xoffset_min")],
  pp_max: ["pp_xoffset_max", integer("pp_xoffset_max")],
  pp_miy: ["pp_yoffset_min", integer("pp_yoffset_min")],
  pp_may: ["pp_yoffset_max", integer("pp_yoffset_max")],
} satisfies Record<string, readonly [EnrichedFieldName, Setter]>));

/**
 * Writes every mapped parameter into the event and returns the failures. `tnuid` is applied last so it
 * beats both `nuid` and the collector's cookie, as Enrich does. An empty value counts as absent.
 */
export function mapParameters(parameters: Parameters, event: EnrichedEvent): FieldFailure[] {
  const failures: FieldFailure[] = [];
  for (const name in parameters) {
    const entry = MAPPING.get(name);
    const value = parameters[name]!;
    if (entry === undefined || value === "") continue;
    const rejection = entry[1](event, value);
    if (rejection !== undefined) failures.push({ field: entry[0], parameter: name, value, expectation: rejection.expectation });
  }
  const trackerNetworkUserId = parameters.tnuid;
  if (trackerNetworkUserId !== undefined && trackerNetworkUserId !== "") event.network_userid = tsvSafe(trackerNetworkUserId);
  if (parameters.e === undefined || parameters.e === "") {
    failures.push({ field: "event", parameter: "e", value: "", expectation: "an event type: pv, pp, se, ue, tr, ti" });
  }
  return failures;
}
