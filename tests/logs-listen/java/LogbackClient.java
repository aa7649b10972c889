package example;

import ch.qos.logback.classic.LoggerContext;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * A small application that logs through logback's LogstashTcpSocketAppender (configured by
 * logback.xml beside it) so the logs-listen tests see exactly what a real Java service sends.
 */
public class LogbackClient {
  private static final Logger log = LoggerFactory.getLogger("example.orders.OrderService");

  /** With an argument: after the usual events, stays quiet that many milliseconds and logs once more. */
  public static void main(String[] args) throws InterruptedException {
    log.debug("debug before any MDC");
    MDC.put("request_id", "req-7");
    MDC.put("user", "ada");
    log.info("order received");
    log.warn("stock low\nsecond line of the warning");
    MDC.clear();
    try {
      loadOrder();
    } catch (IllegalStateException e) {
      log.error("order failed", e);
    }
    if (args.length > 0) {
      Thread.sleep(Long.parseLong(args[0]));
      log.info("after a quiet spell");
    }
    // Stopping the context drains the appender's ring buffer before the JVM exits.
    ((LoggerContext) LoggerFactory.getILoggerFactory()).stop();
  }

  static void loadOrder() {
    try {
      readDisk();
    } catch (IOException e) {
      throw new IllegalStateException("could not load order 42", e);
    }
  }

  static void readDisk() throws IOException {
    throw new IOException("disk on fire: /var/orders");
  }
}
