/**
 * Reads a Java stack trace as logback prints it (the `stack_trace` field of logstash-logback-encoder)
 * into the three things a dashboard groups errors by.
 *
 * Which exception of a chain? The root cause: the innermost `Caused by:` (or the first block when the
 * encoder was set to `rootCauseFirst` and prints `Wrapped by:`). Outer exceptions are usually wrappers
 * (`ServletException`, `CompletionException`, "failed to process request") shared by unrelated failures,
 * while the root cause (`ConnectException: Connection refused`, `SQLTimeoutException`) says what actually
 * broke; its top frame says where. `Suppressed:` blocks (indented) are not part of the causal chain.
 */

export interface ExceptionSummary {
  /** Fully qualified class of the root cause, e.g. `java.io.IOException`. */
  class: string;
  /** Its message (all lines), absent when the exception had none. */
  message?: string;
  /** Its first stack frame without `at ` and packaging data, e.g. `com.a.B.read(B.java:41)`. */
  top_frame?: string;
}

interface ExceptionBlock {
  header: string;
  messageLines: string[];
  topFrame?: string;
}

const CAUSED_BY = "Caused by: ";
const WRAPPED_BY = "Wrapped by: ";
// ShortenedThrowableConverter's `inlineHash` puts `<#1a2b3c4d> ` before each exception line.
const INLINE_HASH = /^<#[0-9a-f]+> /;
const JAVA_CLASS_NAME = /^[\p{L}_$][\p{L}\p{N}_$]*(?:\.[\p{L}_$][\p{L}\p{N}_$]*)*$/u;
// Packaging data (`~[app.jar:1.2]`, `[na:17]`) differs between deployments of the same code.
const PACKAGING_DATA = /\s+~?\[[^\]]*\]$/;

/** The root cause of a logback stack trace, or undefined when the text is not one. */
export function summarizeStackTrace(stackTrace: string): ExceptionSummary | undefined {
  const lines = stackTrace.split(/\r?\n/);
  const blocks: ExceptionBlock[] = [];
  let rootCauseFirst = false;
  let current: ExceptionBlock | undefined;
  let inMessage = false;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const header =
      index === 0 ? line : line.startsWith(CAUSED_BY) ? line.slice(CAUSED_BY.length) : line.startsWith(WRAPPED_BY) ? line.slice(WRAPPED_BY.length) : undefined;
    if (header !== undefined) {
      if (line.startsWith(WRAPPED_BY)) rootCauseFirst = true;
      current = { header: header.replace(INLINE_HASH, ""), messageLines: [] };
      blocks.push(current);
      inMessage = true;
      continue;
    }
    if (!current) continue;
    if (line.startsWith("\t")) {
      inMessage = false;
      // Exactly one tab: a frame of this exception; deeper ones belong to a `Suppressed:` block.
      if (current.topFrame === undefined && line.startsWith("\tat ")) {
        current.topFrame = line.slice(4).replace(PACKAGING_DATA, "");
      }
    } else if (inMessage) {
      current.messageLines.push(line);
    }
  }
  const root = rootCauseFirst ? blocks[0] : blocks[blocks.length - 1];
  if (!root) return undefined;
  const separator = root.header.indexOf(": ");
  const className = separator === -1 ? root.header.trim() : root.header.slice(0, separator);
  if (!JAVA_CLASS_NAME.test(className)) return undefined;
  const summary: ExceptionSummary = { class: className };
  const firstLine = separator === -1 ? "" : root.header.slice(separator + 2);
  const message = [firstLine, ...root.messageLines].join("\n").trimEnd();
  if (message !== "") summary.message = message;
  if (root.topFrame !== undefined) summary.top_frame = root.topFrame;
  return summary;
}
