/** Events (Discover): search, sortable columns of your choosing, paging, each event's JSON in a side panel. */
import { renderRecords } from "./records";

const ATOMIC = [
  "collector_tstamp", "event", "event_name", "event_vendor", "event_version", "app_id", "platform", "page_url", "page_title",
  "page_referrer", "user_id", "domain_userid", "network_userid", "user_ipaddress", "useragent", "br_name", "os_name",
  "dvce_type", "geo_country", "geo_city", "se_category", "se_action", "se_label", "se_property", "se_value", "tr_orderid",
  "tr_total", "ti_sku", "ti_quantity", "event_id", "derived_tstamp", "dvce_created_tstamp", "v_tracker", "name_tracker",
];

export function renderEvents(main: HTMLElement): Promise<void> {
  return renderRecords(main, {
    family: "good",
    defaultColumns: ["collector_tstamp", "event", "event_name", "app_id", "platform", "page_url"],
    knownColumns: ATOMIC,
    placeholder: "event_name:page_view AND app_id:shop*   ·   se_value:>10   ·   NOT platform:web   ·   checkout",
  });
}
