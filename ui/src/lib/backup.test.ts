import { expect, it } from "vitest";
import { backupLine, backupWarning } from "./backup";
import { ago } from "./words";

const hour = 3_600_000;
const now = 1_000 * hour;
const status = (hoursAgo: number, erased = 0) => ({
  dir: "/media/usb/consilium",
  made_at: now - hoursAgo * hour,
  sequence: 3,
  erased_since: erased,
});

it("says how long ago as a person would", () => {
  expect(ago(now - 30_000, now)).toBe("just now");
  expect(ago(now - 5 * 60_000, now)).toBe("5 minutes ago");
  expect(ago(now - 2 * hour, now)).toBe("2 hours ago");
  expect(ago(now - 72 * hour, now)).toBe("3 days ago");
});

it("warns when there is no backup, when it is overdue, and while deleted cases remain in it", () => {
  expect(backupLine(null, now)).toBe("No backup yet.");
  expect(backupWarning(null, 24, now)).toMatch(/no backup/);
  expect(backupLine(status(2), now)).toBe("Last backup 2 hours ago, to /media/usb/consilium.");
  expect(backupWarning(status(2), 24, now)).toBeNull();
  expect(backupWarning(status(49), 24, now)).toBe("The last backup is 2 days old. Plug in the drive it goes to, or back up now.");
  expect(backupWarning(status(100), 0, now)).toBeNull();
  expect(backupWarning(status(200), 0, now)).toMatch(/8 days old/);
  expect(backupWarning(status(1, 2), 24, now)).toBe("2 deleted cases are still in the backup until the next one.");
});
