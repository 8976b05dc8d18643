// What the settings say about the profile's backup: when it was made, and a warning when there
// is none or it is overdue (a lost laptop would take everything since with it).
import type { BackupStatus } from "./api";
import { ago, count } from "./words";

export function backupLine(status: BackupStatus | null, now: number): string {
  if (!status) return "No backup yet.";
  return `Last backup ${ago(status.made_at, now)}, to ${status.dir}.`;
}

/** A warning to show, or null: none made, or older than twice the schedule (a week by hand). */
export function backupWarning(status: BackupStatus | null, everyHours: number, now: number): string | null {
  if (!status) {
    return "This laptop has no backup: if it is lost or its disk fails, every case goes with it. Back up to a folder on an external drive.";
  }
  const allowed = (everyHours > 0 ? 2 * everyHours : 24 * 7) * 3_600_000;
  if (now - status.made_at > allowed) {
    return `The last backup is ${ago(status.made_at, now).replace(" ago", "")} old. Plug in the drive it goes to, or back up now.`;
  }
  if (status.erased_since > 0) {
    return `${count(status.erased_since, "deleted case is", "deleted cases are")} still in the backup until the next one.`;
  }
  return null;
}
