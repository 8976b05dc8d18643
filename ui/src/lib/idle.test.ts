import { describe, expect, it } from "vitest";
import { IdleLock } from "./idle";

describe("auto-lock", () => {
  it("locks after the idle minutes, not before, and input resets the wait", () => {
    let t = 0;
    let locks = 0;
    const idle = new IdleLock(10, () => t, () => locks++);
    t = 9 * 60_000;
    expect(idle.check()).toBe(false);
    idle.touch();
    t = 18 * 60_000;
    expect(idle.check()).toBe(false);
    t = 19 * 60_000;
    expect(idle.check()).toBe(true);
    expect(idle.check()).toBe(false);
    expect(locks).toBe(1);
  });

  it("a shorter setting takes effect at once", () => {
    let t = 0;
    let locks = 0;
    const idle = new IdleLock(10, () => t, () => locks++);
    t = 2 * 60_000;
    idle.setMinutes(1);
    expect(idle.check()).toBe(true);
    expect(locks).toBe(1);
  });
});
