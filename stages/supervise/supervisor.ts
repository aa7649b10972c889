/**
 * `telemetry up`'s supervisor: runs every stage of the pipeline as its own process, joined through hops it
 * holds itself (hop.ts), starts again whatever exits, and stops the whole in order.
 *
 * Why the supervisor sits between the stages rather than letting them share named FIFOs: a stage that
 * dies takes with it what it had read and not finished, and may leave half a line in its pipe. Holding
 * every line until the stage reading it acknowledges it (`--acks`), and passing on only whole lines,
 * makes a stage's death cost nothing: its replacement is sent what it had not finished, and the store's
 * stable ids absorb the few lines it sees twice. The collector's own death is covered by its archive
 * (archive-tail.ts). The stages around a dead one keep running; their output waits in the hops, up to
 * `holdBytes` each, and past that the collector's queue fills and trackers get 503 and retry.
 *
 * A stop (SIGTERM, Ctrl-C, `make down`) stops the sources, lets each stage finish what reaches it (EOF),
 * asks a stage that does not finish within the drain time to stop (SIGTERM: a sink then spills what it
 * could not store into data/run/pending), kills one that still does not, and keeps every line not
 * acknowledged in data/run/pending, which the next start sends first.
 */
import type { Subprocess } from "bun";
import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { archiveSegments, archivedAfter, recordId } from "./archive-tail";
import { stageInput, stageOutput, type StageInput, type StageOutput } from "./fifo";
import { Hop, type Attachment, type HopReader } from "./hop";
import { HOP_NAMES, logPath, runDir, type HopName, type StageSpec, type UpConfig } from "./pipeline";
import { afterExit, FIRST_START, type RestartState } from "./restart-policy";
import { statusPath, type StageStatus, type SupervisorStatus } from "./status";
import { WholeLines, type LineChunk } from "./whole-lines";

export interface SupervisorOptions {
  config: UpConfig;
  stages: StageSpec[];
  /** The command that runs `telemetry` (the executable, or Bun and cli/main.ts). */
  telemetry: string[];
  /** The stages' environment. */
  env: Record<string, string | undefined>;
  /** A line for the person watching (the terminal). */
  say: (line: string) => void;
}

interface Exit {
  code: number | null;
  signal: string | null;
}

interface Instance {
  process: Subprocess;
  startedAt: number;
  exited: Promise<Exit>;
  /** Every pipe the stage wrote has been read to its end. */
  outputsDone: Promise<void>;
  input?: { pipe: StageInput; reader: HopReader; attachment: Attachment; ended: boolean };
}

interface Stage {
  spec: StageSpec;
  starts: number;
  restart: RestartState;
  state: StageStatus["state"];
  instance: Instance | null;
  lastExit?: StageStatus["lastExit"];
  nextStartAt?: number;
  counts: { in: number; out: number; bad: number };
  finished: Promise<void>;
  markFinished: () => void;
}

const NEWLINE = 0x0a;

export class Supervisor {
  private readonly config: UpConfig;
  private readonly hops = new Map<HopName, Hop>();
  private readonly stages: Stage[];
  private readonly run: string;
  private readonly pendingDir: string;
  private readonly fifoDir: string;
  private stopping = false;
  private readonly stopWaiters: (() => void)[] = [];
  private loadedPending: string[] = [];
  private archiveBefore = new Set<string>();
  /** The id of the newest raw record sent on: the collector's archive after it is what a dead collector owed. */
  private lastRawId: string | undefined;
  private readonly startedAt = Date.now();
  private statusTimer: ReturnType<typeof setInterval> | undefined;
  private history: { at: number; stages: Record<string, Stage["counts"]> }[] = [];

  constructor(private readonly options: SupervisorOptions) {
    this.config = options.config;
    this.run = runDir(this.config);
    this.pendingDir = join(this.run, "pending");
    this.fifoDir = join(this.run, "fifo");
    for (const name of HOP_NAMES) this.hops.set(name, new Hop(name, this.config.holdBytes));
    this.stages = options.stages.map((spec) => {
      let markFinished!: () => void;
      const finished = new Promise<void>((resolve) => (markFinished = resolve));
      return { spec, starts: 0, restart: FIRST_START, state: "starting", instance: null, counts: { in: 0, out: 0, bad: 0 }, finished, markFinished };
    });
  }

  /** Starts every stage; resolves once they are all started (not once they stop). */
  async start(): Promise<void> {
    for (const dir of [this.run, this.pendingDir, this.fifoDir, this.config.archive]) mkdirSync(dir, { recursive: true });
    this.archiveBefore = await archiveSegments(this.config.archive);
    this.loadPending();
    for (const stage of this.stages) void this.supervise(stage);
    this.statusTimer = setInterval(() => this.writeStatus(), 1000);
    this.writeStatus();
  }

  /** Stops the sources, drains the stages in order, keeps what is left; resolves when all have exited. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const wake of this.stopWaiters.splice(0)) wake();
    this.options.say("stopping the sources, then each stage once what it reads is done…");
    await Promise.all(this.stages.map((stage) => this.stopStage(stage)));
    this.keepUnacknowledged();
    clearInterval(this.statusTimer);
    this.writeStatus("stopped");
  }

  private async supervise(stage: Stage): Promise<void> {
    while (!this.stopping) {
      const startedAt = Date.now();
      let exit: Exit;
      try {
        const instance = this.spawn(stage);
        stage.instance = instance;
        stage.state = "running";
        exit = await instance.exited;
        await instance.outputsDone;
        stage.instance = null;
        this.afterInstance(stage, instance, exit);
      } catch (error) {
        // The pipes could not be made or the process not started: as good as an exit at once.
        this.tell(stage, `cannot start ${stage.spec.name}: ${(error as Error).message}`);
        exit = { code: null, signal: null };
      }
      if (stage.spec.archive !== undefined) await this.sendOnWhatTheArchiveHolds(stage, stage.spec.archive);
      if (this.stopping) break;
      const ranForMs = Date.now() - startedAt;
      stage.restart = afterExit(stage.restart, ranForMs, this.config.restart);
      stage.state = stage.restart.crashLooping ? "crash-looping" : "waiting";
      stage.nextStartAt = Date.now() + stage.restart.delayMs;
      const held = stage.spec.input ? this.hops.get(stage.spec.input)!.counts.heldLines : 0;
      this.tell(
        stage,
        `${stage.spec.name} exited (${describeExit(exit)}) after ${(ranForMs / 1000).toFixed(1)} s; starting it again in ` +
          `${(stage.restart.delayMs / 1000).toFixed(1)} s` +
          (stage.spec.input ? `, with the ${held} line${held === 1 ? "" : "s"} of ${stage.spec.input} it had not acknowledged` : "") +
          (stage.spec.kafka && stage.spec.kind !== "source" ? "; it reads on from its group's committed offsets" : ""),
      );
      if (stage.restart.crashLooping && stage.restart.quickExits === this.config.restart.crashLoopAfter) {
        this.tell(
          stage,
          `${stage.spec.name} has exited within ${this.config.restart.healthyAfterMs / 1000} s of starting ${stage.restart.quickExits} times in a row; ` +
            `it is started again at most every ${this.config.restart.maxDelayMs / 1000} s; see ${logPath(this.config, stage.spec.name)}`,
        );
      }
      await this.pause(stage.restart.delayMs);
    }
    stage.state = "stopped";
    stage.markFinished();
  }

  /** One instance of a stage, its pipes made and read. */
  private spawn(stage: Stage): Instance {
    const { spec } = stage;
    const number = ++stage.starts;
    const base = join(this.fifoDir, `${spec.name}.${number}`);
    const args = [...spec.args];
    const extraFds: number[] = [];
    const outputs: StageOutput[] = [];
    const relays: Promise<void>[] = [];
    let markExited!: () => void;
    const processExited = new Promise<void>((resolve) => (markExited = resolve));
    const addChannel = (flag: string, channel: string, onLines: (chunk: LineChunk) => Promise<void> | void | undefined) => {
      const output = stageOutput(`${base}.${channel}`);
      outputs.push(output);
      args.push(flag, `/dev/fd/${3 + extraFds.length}`);
      extraFds.push(output.stageFd);
      relays.push(this.relay(stage, channel, output, onLines, processExited));
    };

    let stdout: StageOutput | undefined;
    if (spec.stdout) {
      const hop = this.hops.get(spec.stdout)!;
      stdout = stageOutput(`${base}.stdout`);
      outputs.push(stdout);
      relays.push(
        this.relay(
          stage,
          "stdout",
          stdout,
          (chunk) => {
            stage.counts.out += chunk.lines;
            if (spec.archive !== undefined) this.lastRawId = lastRecordId(chunk.bytes) ?? this.lastRawId;
            return hop.add(chunk);
          },
          processExited,
        ),
      );
    }
    if (typeof spec.bad === "string") {
      const hop = this.hops.get(spec.bad)!;
      addChannel("--bad", "bad", (chunk) => {
        stage.counts.bad += chunk.lines;
        return hop.add(chunk);
      });
    } else if (spec.bad) args.push("--bad", spec.bad.file);
    if (spec.pii) {
      const hop = this.hops.get(spec.pii)!;
      addChannel("--pii", "pii", (chunk) => {
        stage.counts.out += chunk.lines;
        return hop.add(chunk);
      });
    }
    let input: Instance["input"];
    if (spec.input) {
      const hop = this.hops.get(spec.input)!;
      const pipe = stageInput(`${base}.stdin`);
      let attachment!: Attachment;
      // Counts since `telemetry up` started; each instance's acknowledgements count from its own first line.
      const countedBefore = stage.counts.in;
      addChannel("--acks", "acks", (chunk) => {
        for (const line of new TextDecoder().decode(chunk.bytes).split("\n")) {
          if (line === "") continue;
          const handled = (JSON.parse(line) as { handled: number }).handled;
          stage.counts.in = Math.max(stage.counts.in, countedBefore + handled);
          if (spec.sink) stage.counts.out = stage.counts.in;
          attachment.acknowledge(handled);
        }
      });
      const reader: HopReader = {
        write: (bytes) => pipe.write(bytes),
        end: () => {
          input!.ended = true;
          pipe.end();
        },
      };
      attachment = hop.attach(reader);
      input = { pipe, reader, attachment, ended: false };
      if (spec.sink) args.push("--spill", join(this.pendingDir, `${spec.input}.spill-${Date.now()}-${number}.ndjson`));
    }

    const log = openSync(logPath(this.config, spec.name), "a");
    let process: Subprocess;
    try {
      process = Bun.spawn([...this.options.telemetry, ...args], {
        stdio: [input?.pipe.stageFd ?? "ignore", stdout?.stageFd ?? "ignore", log, ...extraFds],
        env: this.options.env,
      });
    } finally {
      closeSync(log);
      input?.pipe.handedOver();
      for (const output of outputs) output.handedOver();
    }
    const exited = process.exited.then(() => {
      markExited();
      return { code: process.exitCode, signal: process.signalCode === null ? null : String(process.signalCode) };
    });
    return { process, startedAt: Date.now(), exited, outputsDone: Promise.all(relays).then(() => {}), input };
  }

  /**
   * Whole lines from one of a stage's pipes, until it ends; an unfinished last line is dropped (whole-lines.ts).
   * While the stage runs, a full hop holds the reading back; once it has exited, what it left in the pipe (a
   * pipe's worth at most) is taken at once, so that starting it again never waits for room downstream.
   */
  private async relay(
    stage: Stage,
    channel: string,
    output: StageOutput,
    onLines: (chunk: LineChunk) => Promise<void> | void | undefined,
    processExited: Promise<void>,
  ): Promise<void> {
    const lines = new WholeLines();
    const reader = output.stream.getReader();
    let exited = false;
    let stopWaiting: (() => void) | undefined;
    void processExited.then(() => {
      exited = true;
      stopWaiting?.();
    });
    try {
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        const chunk = lines.push(read.value);
        const full = chunk === null ? undefined : onLines(chunk);
        if (full && !exited) {
          await new Promise<void>((resolve) => {
            stopWaiting = resolve;
            void full.then(resolve);
          });
          stopWaiting = undefined;
        }
      }
    } finally {
      output.close();
    }
    const dropped = lines.end();
    if (dropped > 0) this.tell(stage, `dropped the unfinished last line (${dropped} bytes) ${stage.spec.name} left on its ${channel}; the record it belonged to is sent again`);
  }

  private afterInstance(stage: Stage, instance: Instance, exit: Exit): void {
    stage.lastExit = { code: exit.code, signal: exit.signal, at: Date.now(), ranForMs: Date.now() - instance.startedAt };
    if (!instance.input) return;
    const hop = this.hops.get(stage.spec.input!)!;
    // Exit 0 after its input ended (EOF) means everything it was sent is handled.
    if (exit.code === 0 && instance.input.ended) instance.input.attachment.finished();
    hop.detach(instance.input.reader);
    instance.input.pipe.end();
  }

  /** A collector that exits may have archived records it had not written out yet: they go on from the archive. */
  private async sendOnWhatTheArchiveHolds(stage: Stage, archive: string): Promise<void> {
    const owed = await archivedAfter(archive, this.lastRawId, this.archiveBefore);
    if (owed.length === 0) return;
    this.lastRawId = recordId(owed[owed.length - 1]!) ?? this.lastRawId;
    this.tell(stage, `${stage.spec.name} had archived ${owed.length} record${owed.length === 1 ? "" : "s"} it had not written out; they go on from ${archive}`);
    void this.hops.get(stage.spec.stdout!)!.add({ bytes: Buffer.from(owed.join("\n") + "\n"), lines: owed.length });
  }

  private async stopStage(stage: Stage): Promise<void> {
    const { spec } = stage;
    if (spec.input) {
      const writers = this.stages.filter((other) => [other.spec.stdout, other.spec.bad, other.spec.pii].includes(spec.input));
      await Promise.all(writers.map((writer) => writer.finished));
      this.hops.get(spec.input)!.end();
    }
    const instance = stage.instance;
    if (instance) {
      stage.state = "stopping";
      if (!spec.input) instance.process.kill("SIGTERM");
      const drainMs = this.config.drainSeconds * 1000;
      if (spec.input && !(await exitsWithin(instance, drainMs))) {
        this.tell(stage, `${spec.name} has not finished ${drainMs / 1000} s after its input ended; asking it to stop (SIGTERM)`);
        instance.process.kill("SIGTERM");
      }
      if (!(await exitsWithin(instance, drainMs + 10_000))) {
        this.tell(stage, `${spec.name} did not stop; killing it (what it had not acknowledged is kept)`);
        instance.process.kill("SIGKILL");
      }
    }
    await stage.finished;
  }

  /** The lines of data/run/pending (kept by the last stop, spilled by its sinks) go first. */
  private loadPending(): void {
    for (const name of readdirSync(this.pendingDir).sort()) {
      const hopName = name.split(".")[0] as HopName;
      const hop = this.hops.get(hopName);
      if (!hop || !name.endsWith(".ndjson")) continue;
      const path = join(this.pendingDir, name);
      const text = readFileSync(path);
      const whole = text.subarray(0, text.lastIndexOf(NEWLINE) + 1);
      let lines = 0;
      for (let at = whole.indexOf(NEWLINE); at !== -1; at = whole.indexOf(NEWLINE, at + 1)) lines++;
      if (lines > 0) {
        void hop.add({ bytes: whole, lines });
        this.options.say(`sending on ${lines} line${lines === 1 ? "" : "s"} of ${hopName} kept by the last stop (${path})`);
      }
      this.loadedPending.push(path);
      const through = hop.counts.arrived;
      void hop.settledThrough(through).then(() => rmSync(path, { force: true }));
    }
  }

  /** Every hop's lines not acknowledged, written to data/run/pending for the next start. */
  private keepUnacknowledged(): void {
    const stamp = new Date().toISOString().replace(/[-:.]/g, "");
    for (const [name, hop] of this.hops) {
      const parts = hop.unacknowledged();
      if (parts.length === 0) continue;
      const path = join(this.pendingDir, `${name}.kept-${stamp}.ndjson`);
      const fd = openSync(path, "w");
      for (const part of parts) writeSync(fd, part);
      fsyncSync(fd);
      closeSync(fd);
      this.options.say(`kept ${hop.counts.heldLines} line${hop.counts.heldLines === 1 ? "" : "s"} of ${name} that were not acknowledged in ${path}; the next start sends them on`);
    }
    // Their lines are acknowledged, or in the files just written.
    for (const path of this.loadedPending) rmSync(path, { force: true });
  }

  private tell(stage: Stage, line: string): void {
    this.options.say(line);
    appendFileSync(logPath(this.config, stage.spec.name), `telemetry up: ${line}\n`);
  }

  private pause(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.stopWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  status(state: SupervisorStatus["state"] = this.stopping ? "stopping" : "running"): SupervisorStatus {
    const now = Date.now();
    this.history.push({ at: now, stages: Object.fromEntries(this.stages.map((stage) => [stage.spec.name, { ...stage.counts }])) });
    while (this.history.length > 2 && now - this.history[1]!.at >= 10_000) this.history.shift();
    const oldest = this.history[0]!;
    const seconds = Math.max((now - oldest.at) / 1000, 0.001);
    return {
      state,
      pid: process.pid,
      startedAt: new Date(this.startedAt).toISOString(),
      updatedAt: new Date(now).toISOString(),
      store: this.config.es ? { kind: "elasticsearch", url: this.config.es } : { kind: "sqlite", path: this.config.db },
      stages: this.stages.map((stage) => {
        const before = oldest.stages[stage.spec.name] ?? stage.counts;
        const rate = (key: keyof Stage["counts"]) => Math.round(((stage.counts[key] - before[key]) / seconds) * 10) / 10;
        // A stage keeps the name crash-looping, started or not, until an instance runs long enough to count as healthy.
        const provenHealthy = stage.instance !== null && now - stage.instance.startedAt >= this.config.restart.healthyAfterMs;
        return {
          name: stage.spec.name,
          kind: stage.spec.kind,
          ...(stage.spec.kafka ? { kafka: true } : {}),
          state: stage.state === "running" && stage.restart.crashLooping && !provenHealthy ? "crash-looping" : stage.state,
          pid: stage.instance?.process.pid ?? null,
          restarts: Math.max(0, stage.starts - 1),
          startedAt: stage.instance ? new Date(stage.instance.startedAt).toISOString() : null,
          lastExit: stage.lastExit ?? null,
          nextStartAt: stage.state === "waiting" || stage.state === "crash-looping" ? new Date(stage.nextStartAt ?? now).toISOString() : null,
          totals: { ...stage.counts },
          perSecond: { in: rate("in"), out: rate("out"), bad: rate("bad") },
        };
      }),
      // Only the hops some stage uses: on Kafka, raw and good are topics.
      hops: [...this.hops.values()].filter((hop) => this.usesHop(hop.name as HopName)).map((hop) => ({ name: hop.name, ...hop.counts })),
    };
  }

  private usesHop(name: HopName): boolean {
    return this.stages.some(({ spec }) => [spec.input, spec.stdout, spec.bad, spec.pii].includes(name));
  }

  /** data/run/status.json, replaced whole each second so a reader never sees half of it. */
  private writeStatus(state?: SupervisorStatus["state"]): void {
    const path = statusPath(this.config);
    writeFileSync(`${path}.tmp`, JSON.stringify(this.status(state), null, 2) + "\n");
    renameSync(`${path}.tmp`, path);
  }
}

function exitsWithin(instance: Instance, ms: number): Promise<boolean> {
  return Promise.race([instance.exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, ms, false))]);
}

function describeExit(exit: Exit): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit code ${exit.code}`;
}

/** The id of the last raw record in a chunk of whole lines. */
function lastRecordId(bytes: Uint8Array): string | undefined {
  const start = bytes.lastIndexOf(NEWLINE, bytes.length - 2) + 1;
  return recordId(new TextDecoder().decode(bytes.subarray(start, bytes.length - 1)));
}
