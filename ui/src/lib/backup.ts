// What the settings say about the profile's backup: when it was made, and a warning when there
// is none or it is overdue (a lost laptop would take everything since with it).
import type { BackupStatus } from "./api";
import { t } from "./i18n.svelte";
import { age, ago } from "./words";

export function backupLine(status: BackupStatus | null, now: number): string {
  if (!status) return t("backup.none_yet");
  return t("backup.last", { when: ago(status.made_at, now), dir: status.dir });
}

/** A warning to show, or null: none made, or older than twice the schedule (a week by hand). */
export function backupWarning(status: BackupStatus | null, everyHours: number, now: number): string | null {
  if (!status) return t("backup.warning_none");
  const allowed = (everyHours > 0 ? 2 * everyHours : 24 * 7) * 3_600_000;
  if (now - status.made_at > allowed) return t("backup.warning_old", { age: age(status.made_at, now) });
  if (status.erased_since > 0) return t("backup.warning_erased", { n: status.erased_since });
  return null;
}
