/**
 * Runs an operator's JavaScript where none of its work can stall or outlive enrich: in a node:vm realm
 * on a worker thread of its own. Only strings cross to and from it.
 *
 * Two limits, because one is not enough. Inside the worker each call runs with the realm's microtasks
 * drained before the call returns (`microtaskMode: "afterEvaluate"`) under vm's timeout, so work the
 * script defers to a promise is cut off with the call it belongs to and fails that event. But a realm
 * can still reach its thread's event loop (a FinalizationRegistry callback; a getter on a thrown value
 * that the worker reads), and there vm's timeout does not apply; so this thread also gives each call a
 * deadline, and a worker that misses it is terminated (which stops any JavaScript) and replaced.
 * Meanwhile enrich's own thread never runs a line of the script, so SIGTERM and the drain keep working.
 */

export interface SandboxSetup {
  /** The operator's script, evaluated once at the realm's top level. */
  script: string;
  /** Our code, evaluated before the script: an expression for a function, called with `preludeArgs`. */
  prelude: string;
  preludeArgs: string[];
  /** Names the realm in stack traces and messages. */
  name: string;
  /** The global function each call runs, with the call's input text; it must return text. */
  entry: string;
  /** The global the input is stored in for the call (the prelude defines it, so the script cannot trap it). */
  input: string;
  timeoutMs: number;
}

type ToWorker = { kind: "setup"; setup: SandboxSetup } | { kind: "call"; id: number; input: string };
type FromWorker =
  | { kind: "ready" }
  | { kind: "failed"; message: string }
  | { kind: "output"; id: number; output: string }
  | { kind: "error"; id: number; message: string };

/** The script cannot be set up (does not compile, throws, or runs too long at its top level). */
export class ScriptSetupError extends Error {}
/** One call failed: the script threw, returned no text, or ran out of time. */
export class ScriptCallError extends Error {}

/**
 * The worker's whole program. It runs from its own source text (see WORKER_URL), so it may use nothing
 * from this module's scope: Node's modules come through process.getBuiltinModule, which a bundler leaves alone.
 */
function sandboxWorker(): void {
  const scope = globalThis as unknown as {
    process: { getBuiltinModule(name: "node:vm"): typeof import("node:vm") };
    onmessage: (message: MessageEvent<ToWorker>) => void;
    postMessage(reply: FromWorker): void;
  };
  const vm = scope.process.getBuiltinModule("node:vm");
  let context: import("node:vm").Context;
  let call: import("node:vm").Script;
  let setup: SandboxSetup;
  // Reading a thrown value may run the script's getters; they run here, under the caller's deadline.
  const messageOf = (error: unknown): string => {
    try {
      return String((error as { message?: unknown } | null)?.message ?? error);
    } catch {
      return "the script threw a value that cannot be read";
    }
  };
  scope.onmessage = ({ data }) => {
    if (data.kind === "setup") {
      setup = data.setup;
      try {
        context = vm.createContext(Object.create(null), { name: setup.name, microtaskMode: "afterEvaluate" });
        // console would print into our NDJSON stdout; a FinalizationRegistry callback would run on the
        // worker's loop, outside any call's timeout.
        vm.runInContext("delete globalThis.console; delete globalThis.FinalizationRegistry;", context);
        (vm.runInContext(setup.prelude, context) as (...args: string[]) => void)(...setup.preludeArgs);
        vm.runInContext(setup.script, context, { filename: "script.js", timeout: setup.timeoutMs });
        call = new vm.Script(`${setup.entry}(${setup.input})`, { filename: setup.name });
        scope.postMessage({ kind: "ready" });
      } catch (error) {
        scope.postMessage({ kind: "failed", message: messageOf(error) });
      }
      return;
    }
    try {
      context[setup.input] = data.input;
      const output: unknown = call.runInContext(context, { timeout: setup.timeoutMs });
      if (typeof output !== "string") throw new Error("the script's entry returned no text");
      scope.postMessage({ kind: "output", id: data.id, output });
    } catch (error) {
      scope.postMessage({ kind: "error", id: data.id, message: messageOf(error) });
    } finally {
      context[setup.input] = null;
    }
  };
}

const WORKER_URL = URL.createObjectURL(new Blob([`(${sandboxWorker.toString()})();`], { type: "application/javascript" }));

/** How long a worker may take to start and evaluate the script; starting a thread on a busy box is slow. */
const START_TIMEOUT_MS = 15_000;
/** Beyond vm's own timeout, what a call may take before its worker is replaced: messages, a busy box. */
const DEADLINE_GRACE_MS = 1000;

/** One worker and the realm inside it; replaced when it misses a deadline or dies. */
export class ScriptSandbox {
  private worker: Worker | null = null;
  private nextId = 0;
  /** Calls run one at a time, so each one's deadline measures only its own work. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly setup: SandboxSetup) {}

  /** A sandbox whose script has been evaluated once; ScriptSetupError when it cannot be. */
  static async start(setup: SandboxSetup): Promise<ScriptSandbox> {
    const sandbox = new ScriptSandbox(setup);
    sandbox.worker = await sandbox.spawn();
    return sandbox;
  }

  /** Calls the entry with `input`; resolves to the text it returned, rejects with ScriptCallError. */
  run(input: string): Promise<string> {
    const result = this.queue.then(() => this.call(input));
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.worker?.terminate();
    this.worker = null;
  }

  private async call(input: string): Promise<string> {
    this.worker ??= await this.spawn().catch((error: Error) => {
      throw new ScriptCallError(`the script could not be started again: ${error.message}`);
    });
    const worker = this.worker;
    const id = this.nextId++;
    const reply = await this.exchange(worker, { kind: "call", id, input }, this.setup.timeoutMs + DEADLINE_GRACE_MS, (data) => "id" in data && data.id === id);
    if (reply === null) {
      this.discard(worker);
      throw new ScriptCallError(`Script execution timed out: its work, deferred work included, did not end within ${this.setup.timeoutMs} ms`);
    }
    if (reply.kind === "output") return reply.output;
    throw new ScriptCallError(reply.kind === "error" ? reply.message : "the script's worker stopped");
  }

  private async spawn(): Promise<Worker> {
    const worker = new Worker(WORKER_URL);
    const reply = await this.exchange(worker, { kind: "setup", setup: this.setup }, START_TIMEOUT_MS, (data) => data.kind === "ready" || data.kind === "failed");
    if (reply?.kind === "ready") {
      // An idle sandbox must not keep enrich alive once its input has ended. (Bun's Worker has unref;
      // the DOM typing this project also loads does not say so.)
      (worker as Worker & { unref(): void }).unref();
      return worker;
    }
    worker.terminate();
    throw new ScriptSetupError(reply === null ? `it did not finish within ${START_TIMEOUT_MS} ms` : reply.kind === "failed" ? reply.message : "its worker stopped");
  }

  /**
   * Posts `message` and waits for the reply `matches` picks; null when `deadlineMs` passes first. A worker
   * that dies meanwhile answers with a synthetic error reply.
   */
  private exchange(worker: Worker, message: ToWorker, deadlineMs: number, matches: (data: FromWorker) => boolean): Promise<FromWorker | null> {
    return new Promise((resolve) => {
      const finish = (reply: FromWorker | null) => {
        clearTimeout(timer);
        worker.removeEventListener("message", onMessage);
        worker.removeEventListener("error", onDeath);
        worker.removeEventListener("close", onDeath);
        resolve(reply);
      };
      const onMessage = ({ data }: MessageEvent<FromWorker>) => {
        if (matches(data)) finish(data);
      };
      const onDeath = () => {
        this.discard(worker);
        finish({ kind: "failed", message: "the script's worker stopped" });
      };
      const timer = setTimeout(() => finish(null), deadlineMs);
      worker.addEventListener("message", onMessage);
      worker.addEventListener("error", onDeath);
      worker.addEventListener("close", onDeath);
      worker.postMessage(message);
    });
  }

  private discard(worker: Worker): void {
    worker.terminate();
    if (this.worker === worker) this.worker = null;
  }
}
