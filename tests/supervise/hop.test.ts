/** The hop between stages under `telemetry up`: whole lines only, held until acknowledged, sent again to a new reader. */
import { describe, expect, test } from "bun:test";
import { Hop, type HopReader } from "../../stages/supervise/hop";
import { countLines, WholeLines } from "../../stages/supervise/whole-lines";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const chunk = (...lines: string[]) => {
  const bytes = new TextEncoder().encode(lines.map((line) => line + "\n").join(""));
  return { bytes, lines: lines.length };
};

/** A reader that keeps what it is sent; `fail()` makes it behave as a dead stage (EPIPE). */
class TestReader implements HopReader {
  received = "";
  ended = false;
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;
  dead = false;
  async write(bytes: Uint8Array): Promise<void> {
    if (this.dead) throw new Error("EPIPE");
    await this.gate;
    if (this.dead) throw new Error("EPIPE");
    this.received += text(bytes);
  }
  end(): void {
    this.ended = true;
  }
  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }
  release(): void {
    this.gate = null;
    this.open?.();
  }
  lines(): string[] {
    return this.received.split("\n").filter(Boolean);
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("WholeLines", () => {
  test("passes on only whole lines, joins a line split across chunks, and drops an unfinished last line at the end", () => {
    const lines = new WholeLines();
    const encode = (value: string) => new TextEncoder().encode(value);
    expect(lines.push(encode('{"a":1}\n{"b"'))).toEqual({ bytes: encode('{"a":1}\n'), lines: 1 });
    expect(lines.push(encode(":2"))).toBeNull();
    const next = lines.push(encode('}\n{"c":3}\n{"d"'))!;
    expect(text(next.bytes)).toBe('{"b":2}\n{"c":3}\n');
    expect(next.lines).toBe(2);
    expect(lines.end()).toBe(4);
    expect(countLines(encode("a\nb\nc"))).toBe(2);
  });
});

describe("Hop", () => {
  test("a reader gets every line in order, and EOF once the writers are done and all is sent", async () => {
    const hop = new Hop("good", 1 << 20);
    const reader = new TestReader();
    hop.attach(reader);
    await hop.add(chunk("1", "2"));
    await hop.add(chunk("3"));
    hop.end();
    await settle();
    expect(reader.lines()).toEqual(["1", "2", "3"]);
    expect(reader.ended).toBe(true);
  });

  test("a reader that dies is replaced by one that gets every line not acknowledged, from the first", async () => {
    const hop = new Hop("good", 1 << 20);
    const first = new TestReader();
    const attachment = hop.attach(first);
    await hop.add(chunk("1", "2", "3"));
    await hop.add(chunk("4", "5"));
    await settle();
    attachment.acknowledge(2);
    first.dead = true;
    hop.detach(first);
    await hop.add(chunk("6"));
    expect(hop.counts).toMatchObject({ arrived: 6, acknowledged: 2, heldLines: 4 });
    const second = new TestReader();
    const again = hop.attach(second);
    await settle();
    expect(second.lines()).toEqual(["3", "4", "5", "6"]);
    // Its line numbers start at its own first line: its 4 is the hop's 6.
    again.acknowledge(4);
    expect(hop.counts).toMatchObject({ acknowledged: 6, heldLines: 0, heldBytes: 0 });
  });

  test("an acknowledgement never covers lines the reader was not sent, and a late one from a dead reader still counts", async () => {
    const hop = new Hop("bad", 1 << 20);
    const first = new TestReader();
    const late = hop.attach(first);
    await hop.add(chunk("a", "b"));
    await settle();
    first.dead = true;
    hop.detach(first);
    await hop.add(chunk("c"));
    late.acknowledge(99);
    expect(hop.counts.acknowledged).toBe(2);
    const second = new TestReader();
    hop.attach(second);
    await settle();
    expect(second.lines()).toEqual(["c"]);
  });

  test("a writer waits while the hop holds more than its limit, and goes on as acknowledgements free room", async () => {
    const hop = new Hop("raw", 10);
    const reader = new TestReader();
    const attachment = hop.attach(reader);
    let added = false;
    const adding = hop.add(chunk("0123456789", "x"))!.then(() => (added = true));
    await settle();
    expect(added).toBe(false);
    expect(reader.lines()).toEqual(["0123456789", "x"]);
    attachment.acknowledge(2);
    await adding;
    expect(added).toBe(true);
  });

  test("what is not acknowledged can be kept, starting inside a chunk; a reader that exits 0 after EOF has handled all", async () => {
    const hop = new Hop("logs", 1 << 20);
    const reader = new TestReader();
    const attachment = hop.attach(reader);
    await hop.add(chunk("1", "2", "3"));
    await hop.add(chunk("4"));
    await settle();
    attachment.acknowledge(1);
    expect(hop.unacknowledged().map(text).join("")).toBe("2\n3\n4\n");
    hop.end();
    await settle();
    attachment.finished();
    expect(hop.unacknowledged()).toEqual([]);
    expect(hop.isSettled).toBe(true);
  });

  test("settledThrough resolves once the lines up to a number are acknowledged", async () => {
    const hop = new Hop("pii", 1 << 20);
    const reader = new TestReader();
    const attachment = hop.attach(reader);
    await hop.add(chunk("1", "2"));
    let settled = false;
    void hop.settledThrough(2).then(() => (settled = true));
    attachment.acknowledge(1);
    await settle();
    expect(settled).toBe(false);
    attachment.acknowledge(2);
    await settle();
    expect(settled).toBe(true);
  });
});
