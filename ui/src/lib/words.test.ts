import { expect, it } from "vitest";
import { age, ago } from "./words";

it("time reads right, in the singular and the plural", () => {
  const now = Date.UTC(2026, 2, 12, 12);
  expect(ago(now - 30_000, now)).toBe("just now");
  expect(ago(now - 60_000, now)).toBe("1 minute ago");
  expect(ago(now - 5 * 60_000, now)).toBe("5 minutes ago");
  expect(age(now - 49 * 3_600_000, now)).toBe("2 days");
  expect(age(now - 3_600_000, now)).toBe("1 hour");
});
