/**
 * `--acks PATH`: a stage tells whoever feeds it (the `telemetry up` supervisor) how much of its input it
 * has handled for good, so that after a crash only the rest is sent again, and nothing is sent again that
 * the stage had finished. Each line is `{"handled":N}`: input lines 1..N (as LineSplitter numbers them:
 * blank lines do not count) have had every output they give written, or stored, or refused as bad rows.
 *
 * Written only once what the stage wrote for those lines is out of its hands (`beforeWriting` waits for
 * its stdout to be written out), so a stage killed right after an acknowledgement has lost nothing it
 * acknowledged. Acknowledgements that pile up while one is being written are folded into the newest.
 */
import type { AppendFile } from "./append-file";

export class Acknowledgements {
  private latest = 0;
  private written = 0;
  private writing: Promise<void> | null = null;

  constructor(
    private readonly file: AppendFile,
    private readonly beforeWriting: () => Promise<void> = async () => {},
  ) {}

  /** Input lines 1..`line` are handled. */
  handled(line: number): void {
    if (line <= this.latest) return;
    this.latest = line;
    this.writing ??= this.writeLoop();
  }

  /** Writes what is still unsaid and closes the file. */
  async close(): Promise<void> {
    await this.writing;
    this.file.close();
  }

  private async writeLoop(): Promise<void> {
    while (this.written < this.latest) {
      const line = this.latest;
      await this.beforeWriting();
      this.file.writeLines(`{"handled":${line}}\n`, 1);
      this.written = line;
    }
    this.writing = null;
  }
}
