import { describe, expect, test } from "bun:test";
import { summarizeStackTrace } from "../../stages/logs-listen/stack-trace";

// Stack traces written the way logback's ThrowableProxyConverter prints them (tabs, "Caused by:", "... N
// common frames omitted"); the logback test checks the same against the real encoder's output.
describe("summarizeStackTrace", () => {
  test("a single exception: class, message and first frame", () => {
    const trace = "java.lang.IllegalArgumentException: bad id 7\n\tat com.shop.Orders.find(Orders.java:12)\n\tat com.shop.Api.get(Api.java:40)\n";
    expect(summarizeStackTrace(trace)).toEqual({
      class: "java.lang.IllegalArgumentException",
      message: "bad id 7",
      top_frame: "com.shop.Orders.find(Orders.java:12)",
    });
  });

  test("a chain is summarised by its root cause, the innermost Caused by", () => {
    const trace = [
      "org.springframework.web.util.NestedServletException: Request processing failed",
      "\tat org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)",
      "Caused by: java.lang.IllegalStateException: could not load order",
      "\tat com.shop.Orders.load(Orders.java:30)",
      "\t... 12 common frames omitted",
      "Caused by: java.net.ConnectException: Connection refused: db:5432",
      "\tat java.base/sun.nio.ch.Net.connect0(Native Method)",
      "\tat com.shop.Db.open(Db.java:8)",
      "\t... 14 common frames omitted",
      "",
    ].join("\n");
    expect(summarizeStackTrace(trace)).toEqual({
      class: "java.net.ConnectException",
      message: "Connection refused: db:5432",
      top_frame: "java.base/sun.nio.ch.Net.connect0(Native Method)",
    });
  });

  test("Suppressed blocks (indented) are not part of the causal chain", () => {
    const trace = [
      "java.io.IOException: write failed",
      "\tat com.a.Out.write(Out.java:3)",
      "\tSuppressed: java.io.IOException: close failed",
      "\t\tat com.a.Out.close(Out.java:9)",
      "\tCaused by: java.lang.Error: deep",
      "\t\tat com.a.Out.flush(Out.java:11)",
    ].join("\n");
    expect(summarizeStackTrace(trace)).toEqual({
      class: "java.io.IOException",
      message: "write failed",
      top_frame: "com.a.Out.write(Out.java:3)",
    });
  });

  test("with rootCauseFirst the root cause is the first block and wrappers follow as Wrapped by", () => {
    const trace = [
      "java.sql.SQLTimeoutException: query timed out",
      "\tat com.a.Dao.query(Dao.java:5)",
      "Wrapped by: java.lang.RuntimeException: lookup failed",
      "\tat com.a.Service.lookup(Service.java:22)",
    ].join("\n");
    expect(summarizeStackTrace(trace)).toMatchObject({ class: "java.sql.SQLTimeoutException", top_frame: "com.a.Dao.query(Dao.java:5)" });
  });

  test("no message, a multi-line message, CRLF line ends, packaging data and inline hashes", () => {
    expect(summarizeStackTrace("java.lang.NullPointerException\n\tat a.B.c(B.java:1)")).toEqual({
      class: "java.lang.NullPointerException",
      top_frame: "a.B.c(B.java:1)",
    });
    const windows = "<#5f2a1b3c> com.a.ParseException: line one\r\nline two\r\n\tat com.a.P.parse(P.java:7) ~[app.jar:1.4.2]\r\n";
    expect(summarizeStackTrace(windows)).toEqual({
      class: "com.a.ParseException",
      message: "line one\nline two",
      top_frame: "com.a.P.parse(P.java:7)",
    });
  });

  test("an inner class keeps its $ and a root cause without frames has no top_frame", () => {
    const trace = "com.a.Outer$Failure: outer\n\tat com.a.Outer.run(Outer.java:2)\nCaused by: com.a.Outer$Inner: inner\n\t... 1 common frames omitted";
    expect(summarizeStackTrace(trace)).toEqual({ class: "com.a.Outer$Inner", message: "inner" });
  });

  test("text that is not a Java stack trace gives no summary", () => {
    expect(summarizeStackTrace("Traceback (most recent call last):\n  File \"x.py\", line 1")).toBeUndefined();
    expect(summarizeStackTrace("")).toBeUndefined();
    expect(summarizeStackTrace("something went wrong: badly")).toBeUndefined();
  });
});
