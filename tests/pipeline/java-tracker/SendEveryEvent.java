import com.snowplowanalytics.snowplow.tracker.Tracker;
import com.snowplowanalytics.snowplow.tracker.emitter.BatchEmitter;
import com.snowplowanalytics.snowplow.tracker.emitter.EmitterCallback;
import com.snowplowanalytics.snowplow.tracker.emitter.FailureType;
import com.snowplowanalytics.snowplow.tracker.events.EcommerceTransaction;
import com.snowplowanalytics.snowplow.tracker.events.EcommerceTransactionItem;
import com.snowplowanalytics.snowplow.tracker.events.PageView;
import com.snowplowanalytics.snowplow.tracker.events.ScreenView;
import com.snowplowanalytics.snowplow.tracker.events.SelfDescribing;
import com.snowplowanalytics.snowplow.tracker.events.Structured;
import com.snowplowanalytics.snowplow.tracker.events.Timing;
import com.snowplowanalytics.snowplow.tracker.payload.SelfDescribingJson;
import com.snowplowanalytics.snowplow.tracker.payload.TrackerPayload;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * For tests/pipeline/java-tracker.test.ts: sends one event of every type the Java tracker has to the collector
 * named in args[0], each with a web_page entity, and exits 0 once the collector has accepted all of them.
 */
public class SendEveryEvent {
    /** The transaction is two payloads: the transaction and its item. */
    private static final int PAYLOADS = 7;

    public static void main(String[] args) throws Exception {
        CountDownLatch answered = new CountDownLatch(PAYLOADS);
        StringBuffer failures = new StringBuffer();
        BatchEmitter emitter = BatchEmitter.builder()
                .url(args[0])
                .batchSize(1)
                .callback(new EmitterCallback() {
                    public void onSuccess(List<TrackerPayload> payloads) {
                        payloads.forEach(p -> answered.countDown());
                    }

                    public void onFailure(FailureType type, boolean willRetry, List<TrackerPayload> payloads) {
                        failures.append(type).append(willRetry ? " (retrying)" : "").append('\n');
                    }
                })
                .build();
        Tracker tracker = new Tracker.TrackerBuilder(emitter, "java-schemas", "java-schemas").base64(true).build();
        List<SelfDescribingJson> page = List.of(new SelfDescribingJson(
                "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0", Map.of("id", "6b8f3b5e-5b1a-4d2e-9a3f-2f1c0e7d9a10")));

        tracker.track(PageView.builder().pageUrl("https://shop.example.com/").pageTitle("Home").referrer("https://example.org/").customContext(page).build());
        tracker.track(Structured.builder().category("cart").action("add").label("sku-1").property("colour").value(2.0).customContext(page).build());
        tracker.track(SelfDescribing.builder()
                .eventData(new SelfDescribingJson("iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1", Map.of("targetUrl", "https://example.com/")))
                .customContext(page).build());
        tracker.track(ScreenView.builder().name("home").id("6b8f3b5e-5b1a-4d2e-9a3f-2f1c0e7d9a11").customContext(page).build());
        tracker.track(Timing.builder().category("load").variable("db").timing(12).label("query").customContext(page).build());
        EcommerceTransactionItem item = EcommerceTransactionItem.builder()
                .itemId("T-1").sku("P-1").price(25.0).quantity(1).name("Lamp").category("home").currency("EUR").build();
        tracker.track(EcommerceTransaction.builder()
                .orderId("T-1").totalValue(25.0).affiliation("web").taxValue(5.0).shipping(3.0).city("Lyon").state("ARA").country("FR")
                .currency("EUR").items(item).customContext(page).build());

        boolean all = answered.await(60, TimeUnit.SECONDS);
        tracker.close();
        if (!all || failures.length() > 0) {
            System.err.println("not every event was accepted: " + failures);
            System.exit(1);
        }
        System.exit(0);
    }
}
