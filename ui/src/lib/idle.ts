// Auto-lock: the window locks after the chosen minutes without keyboard or pointer input.
// The clock is passed in so the rule is tested without waiting.
export class IdleLock {
  private last: number;
  constructor(private minutes: number, private now: () => number, private onIdle: () => void) {
    this.last = now();
  }

  setMinutes(minutes: number) {
    this.minutes = minutes;
  }

  /** Any input. */
  touch() {
    this.last = this.now();
  }

  /** Called on a timer; locks once when the idle time has passed. */
  check(): boolean {
    if (this.now() - this.last >= this.minutes * 60_000) {
      this.last = this.now();
      this.onIdle();
      return true;
    }
    return false;
  }
}
