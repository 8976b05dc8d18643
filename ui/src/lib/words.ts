// Time in words, as a person says it: "just now", "5 minutes ago", "2 hours ago", in the
// window's language. (Counts are plurals in the catalogs' messages.)
import { t } from "./i18n.svelte";

/** How long ago `then` was. */
export function ago(then: number, now: number): string {
  const minutes = Math.floor((now - then) / 60_000);
  if (minutes < 1) return t("time.just_now");
  if (minutes < 60) return t("time.minutes_ago", { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t("time.hours_ago", { n: hours });
  return t("time.days_ago", { n: Math.floor(hours / 24) });
}

/** How old something made at `then` is: "5 minutes", "2 hours", "3 days". */
export function age(then: number, now: number): string {
  const minutes = Math.max(0, Math.floor((now - then) / 60_000));
  if (minutes < 60) return t("time.minutes", { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t("time.hours", { n: hours });
  return t("time.days", { n: Math.floor(hours / 24) });
}
