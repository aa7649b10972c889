package example;

import ch.qos.logback.classic.LoggerContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A steady stream of log lines through logback's LogstashTcpSocketAppender (logback.xml beside it), for
 * the `telemetry up` fault tests: `LogLoad RUN COUNT PER_SECOND` logs "log RUN 0" … "log RUN COUNT-1".
 */
public class LogLoad {
  private static final Logger log = LoggerFactory.getLogger("example.load.LogLoad");

  public static void main(String[] args) throws InterruptedException {
    String run = args[0];
    int count = Integer.parseInt(args[1]);
    int perSecond = Integer.parseInt(args[2]);
    long started = System.nanoTime();
    for (int i = 0; i < count; i++) {
      long due = started + (long) i * 1_000_000_000L / perSecond;
      long wait = due - System.nanoTime();
      if (wait > 0) Thread.sleep(wait / 1_000_000L, (int) (wait % 1_000_000L));
      log.info("log {} {}", run, i);
    }
    // Stopping the context drains the appender's ring buffer before the JVM exits.
    ((LoggerContext) LoggerFactory.getILoggerFactory()).stop();
  }
}
