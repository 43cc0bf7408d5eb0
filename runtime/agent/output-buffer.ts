/**
 * One output stream of a script, kept up to a byte cap. Bytes past the cap
 * are counted but not kept, so memory stays bounded however much a script
 * prints.
 *
 * Decoding is streamed: the bytes of a UTF-8 character split across chunks
 * are held back until the character is complete, and the cap never cuts a
 * character in half (it keeps slightly less instead).
 */
export class CappedOutput {
  readonly #label: string;
  readonly #maxBytes: number;
  readonly #kept: string[] = [];
  #keptBytes = 0;
  #droppedBytes = 0;
  #pending: Buffer = Buffer.alloc(0);

  constructor(label: 'stdout' | 'stderr', maxBytes: number) {
    this.#label = label;
    this.#maxBytes = maxBytes;
  }

  get truncated(): boolean {
    return this.#droppedBytes > 0;
  }

  get droppedBytes(): number {
    return this.#droppedBytes;
  }

  /** Takes a chunk; returns the text kept from it ('' when none). */
  push(chunk: Buffer): string {
    if (this.truncated) {
      this.#droppedBytes += chunk.length;
      return '';
    }

    const data =
      this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    const room = this.#maxBytes - this.#keptBytes;

    if (data.length > room) {
      const cut = characterStartAtOrBefore(data, room);
      this.#pending = Buffer.alloc(0);
      this.#droppedBytes = data.length - cut;
      return this.#keep(data.subarray(0, cut));
    }

    const complete = data.length - incompleteTailLength(data);
    // A copy, so the pending bytes do not pin the whole chunk in memory.
    this.#pending = Buffer.from(data.subarray(complete));
    return this.#keep(data.subarray(0, complete));
  }

  /**
   * Ends the stream. Bytes of a character the script never finished are
   * decoded as they are (to U+FFFD): they were output, so they are shown.
   */
  finish(): string {
    const rest = this.#pending;
    this.#pending = Buffer.alloc(0);
    return this.#keep(rest);
  }

  /** The kept text, plus a marker line when something was dropped. */
  text(): string {
    const kept = this.#kept.join('');
    if (!this.truncated) return kept;

    const separator = kept === '' || kept.endsWith('\n') ? '' : '\n';
    const marker = `[wfe: ${this.#label} truncated, ${this.#droppedBytes} bytes dropped]`;
    return `${kept}${separator}${marker}\n`;
  }

  #keep(bytes: Buffer): string {
    if (bytes.length === 0) return '';
    const text = bytes.toString('utf8');
    this.#kept.push(text);
    this.#keptBytes += bytes.length;
    return text;
  }
}

function isContinuationByte(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/** How many bytes the UTF-8 sequence starting with `lead` should have. */
function sequenceLength(lead: number): number {
  if (lead >= 0xf0) return 4;
  if (lead >= 0xe0) return 3;
  if (lead >= 0xc0) return 2;
  return 1;
}

/**
 * The largest cut at or before `position` that does not split a character.
 * Assumes `data` starts on a character boundary.
 */
function characterStartAtOrBefore(data: Buffer, position: number): number {
  let cut = position;
  while (cut > 0 && position - cut < 3 && isContinuationByte(data[cut]!)) {
    cut--;
  }
  return cut;
}

/** Bytes at the end of `data` that begin a character not yet complete. */
function incompleteTailLength(data: Buffer): number {
  const limit = Math.min(3, data.length);
  for (let back = 1; back <= limit; back++) {
    const byte = data[data.length - back]!;
    if (!isContinuationByte(byte)) {
      return sequenceLength(byte) > back ? back : 0;
    }
  }
  return 0;
}
