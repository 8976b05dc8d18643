// What several screens share: who is signed in, the settings, the sync state, progress bars and
// the error shown at the bottom of the window.
import { describe } from "./errors";
import type { Identity, Progress, Settings, SyncState, Transfer } from "./api";

export type View =
  | { kind: "empty" }
  | { kind: "case"; id: string }
  | { kind: "edit"; id: string | null }
  | { kind: "circle"; id: string }
  | { kind: "circles" }
  | { kind: "settings" };

export const app = $state({
  me: null as Identity | null,
  settings: { relay: "http://127.0.0.1:8443", auto_lock_minutes: 10, theme: "system", backup_every_hours: 24, language: "system", welcomed: true } as Settings,
  /** The system's language tag ("fr-FR"), followed unless the settings name a language. */
  systemLocale: "en",
  view: { kind: "empty" } as View,
  /** Sidebar selection: "all", "drafts" or a circle id. */
  scope: "all",
  sync: null as SyncState | null,
  transfer: null as Transfer | null,
  importing: null as Progress | null,
  error: null as { title: string; detail: string } | null,
  /** Bumped whenever cases or circles may have changed, so lists reload. */
  version: 0,
  /** Circles (ids) this profile was removed from, whose received cases await a decision. */
  removedFrom: [] as string[],
});

export function showError(e: unknown) {
  app.error = describe(e);
}

/** Runs an action, showing its error in words if it fails; returns whether it succeeded. */
export async function attempt(action: () => Promise<unknown>): Promise<boolean> {
  app.error = null;
  try {
    await action();
    return true;
  } catch (e) {
    showError(e);
    return false;
  }
}

export function changed() {
  app.version += 1;
}

export { date, dateTime } from "./i18n.svelte";
