/** A counting semaphore: at most `size` holders at once, FIFO waiters. */
export class Slots {
  readonly #size: number;
  readonly #waiting: Array<() => void> = [];
  #used = 0;

  constructor(size: number) {
    this.#size = size;
  }

  get used(): number {
    return this.#used;
  }

  acquire(): Promise<void> {
    if (this.#used < this.#size) {
      this.#used++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#used--;
  }
}
