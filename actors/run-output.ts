import type { AgentOutputChunk } from '../runtime/agent/protocol.js';

type Stream = 'stdout' | 'stderr';

// A peer that skips sequence numbers must not make us hoard chunks.
const MAX_PENDING_CHUNKS = 10_000;

/**
 * The output of one remote run as it arrives: chunks may come out of
 * order or twice (after a replay), and go on in sequence, each once,
 * renumbered without gaps for whoever listens.
 */
export class RunOutput {
  /** The agent's next sequence number; all before it are passed on. */
  next = 1;
  readonly #pending = new Map<number, AgentOutputChunk>();
  readonly #text: Record<Stream, string[]> = { stdout: [], stderr: [] };
  readonly #emit: (seq: number, stream: Stream, chunk: string) => void;
  #emitted = 0;

  constructor(emit: (seq: number, stream: Stream, chunk: string) => void) {
    this.#emit = emit;
  }

  /** Chunks passed on so far. */
  get emitted(): number {
    return this.#emitted;
  }

  add(chunk: AgentOutputChunk): void {
    const known = chunk.seq < this.next || this.#pending.has(chunk.seq);
    if (known || this.#pending.size >= MAX_PENDING_CHUNKS) return;

    this.#pending.set(chunk.seq, chunk);
    for (;;) {
      const next = this.#pending.get(this.next);
      if (next === undefined) return;
      this.#pending.delete(this.next);
      this.next += 1;
      this.#pass(next.stream, next.chunk);
    }
  }

  /** How many of the agent's `total` chunks have not come in order. */
  missing(total: number): number {
    return total - (this.next - 1);
  }

  /**
   * Gives up on the chunks that never came: passes on what did, in
   * order, then a line saying how many were lost. Returns that count.
   */
  closeWithGaps(total: number): number {
    const seqs = [...this.#pending.keys()].filter((seq) => seq <= total);
    for (const seq of seqs.sort((a, b) => a - b)) {
      const chunk = this.#pending.get(seq)!;
      this.#pass(chunk.stream, chunk.chunk);
    }
    const lost = total - (this.next - 1) - seqs.length;
    this.#pass('stderr', `\n[wfe: ${lost} output chunks lost]\n`);
    return lost;
  }

  text(stream: Stream): string {
    return this.#text[stream].join('');
  }

  #pass(stream: Stream, chunk: string): void {
    this.#emitted += 1;
    this.#text[stream].push(chunk);
    this.#emit(this.#emitted, stream, chunk);
  }
}
