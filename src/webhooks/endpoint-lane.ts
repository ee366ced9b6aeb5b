/**
 * Each endpoint gets its own lane: at most `maxConcurrency` requests in flight, at most
 * `maxQueued` waiting. A slow or dead endpoint fills its own lane only; what does not fit is
 * parked on the retry topic instead of holding up the consumer (and with it every other endpoint).
 */
export class EndpointLane {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly maxConcurrency: number,
    private readonly maxQueued: number,
  ) {}

  get full(): boolean {
    return this.active >= this.maxConcurrency && this.waiting.length >= this.maxQueued;
  }

  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.maxConcurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter (active stays the same).
      if (next) next();
      else this.active--;
    }
  }
}
