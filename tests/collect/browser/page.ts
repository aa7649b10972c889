/**
 * The page script of the browser end-to-end test, bundled by Bun.build for the browser. The collector's
 * origin comes from this page's query (`?collector=http://localhost:PORT`), so one bundle serves any port.
 */
import { newTracker, trackPageView, trackSelfDescribingEvent } from "@snowplow/browser-tracker";

interface Outcome {
  tracker: string;
  ok: boolean;
  status?: number;
  message?: string;
}

declare global {
  interface Window {
    /** Settles once every event below has been answered, with each answer in order; the test awaits it. */
    trackingDone: Promise<Outcome[]>;
  }
}

const collector = new URLSearchParams(location.search).get("collector")!;

const outcomes: Outcome[] = [];
const answerWaiters = new Map<string, (outcome: Outcome) => void>();

/** Resolves with the next answer the named tracker gets from the collector. */
function nextAnswer(tracker: string): Promise<Outcome> {
  return new Promise((resolve) => answerWaiters.set(tracker, resolve));
}

function emitterCallbacks(tracker: string) {
  const settle = (outcome: Outcome) => {
    outcomes.push(outcome);
    answerWaiters.get(tracker)?.(outcome);
  };
  return {
    onRequestSuccess: (_batch: unknown, response: Response) => settle({ tracker, ok: true, status: response.status }),
    onRequestFailure: (failure: { status?: number; message?: string }) =>
      settle({ tracker, ok: false, status: failure.status, message: failure.message }),
  };
}

newTracker("post", collector, {
  appId: "browser-test",
  eventMethod: "post",
  credentials: "include",
  bufferSize: 1,
  retryFailedRequests: false,
  ...emitterCallbacks("post"),
});
newTracker("get", collector, {
  appId: "browser-test-get",
  eventMethod: "get",
  credentials: "include",
  retryFailedRequests: false,
  ...emitterCallbacks("get"),
});

// One request at a time, so each later request can only carry a cookie that an earlier answer set.
window.trackingDone = (async () => {
  const pageViewAnswered = nextAnswer("post");
  trackPageView({ title: "Browser test" }, ["post"]);
  await pageViewAnswered;
  const eventAnswered = nextAnswer("post");
  trackSelfDescribingEvent(
    { event: { schema: "iglu:com.acme/checkout/jsonschema/1-0-0", data: { total: 42, currency: "EUR" } } },
    ["post"],
  );
  await eventAnswered;
  const getAnswered = nextAnswer("get");
  trackPageView({ title: "Browser test (GET)" }, ["get"]);
  await getAnswered;
  return outcomes;
})();
