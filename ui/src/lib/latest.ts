// Which answer is still wanted: each request takes a ticket, and only the newest ticket's answer
// is applied. A slow answer to an older request (the case the user just left) is dropped.

export class Latest {
  private issued = 0;

  /** A ticket for a new request; every earlier ticket is now out of date. */
  next(): number {
    this.issued += 1;
    return this.issued;
  }

  /** Whether `ticket` is the newest one. */
  isCurrent(ticket: number): boolean {
    return ticket === this.issued;
  }

  /** Awaits `answer` and hands it to `apply` (or its failure to `fail`) if still current. */
  async settle<T>(answer: Promise<T>, apply: (value: T) => void, fail: (e: unknown) => void): Promise<void> {
    const ticket = this.next();
    try {
      const value = await answer;
      if (this.isCurrent(ticket)) apply(value);
    } catch (e) {
      if (this.isCurrent(ticket)) fail(e);
    }
  }
}
