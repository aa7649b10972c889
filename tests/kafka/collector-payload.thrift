// Snowplow's CollectorPayload, schema iglu:com.snowplowanalytics.snowplow/CollectorPayload/thrift/1-0-0,
// written here from its public field table (ids, types, required or optional). Snowplow's file declares
// `schema` (31337) first; it is declared last here because Thrift's JavaScript generator writes fields in
// declaration order while its Java generator (which Snowplow's collector uses) writes them by ascending
// id. Declared in id order, both libraries write the same bytes, so both can be compared with ours.
namespace java dev.telemetry.thrift
namespace js telemetry

struct CollectorPayload {
  100: string ipAddress
  200: i64 timestamp
  210: string encoding
  220: string collector
  300: optional string userAgent
  310: optional string refererUri
  320: optional string path
  330: optional string querystring
  340: optional string body
  350: optional list<string> headers
  360: optional string contentType
  400: optional string hostname
  410: optional string networkUserId
  31337: string schema
}
