// How a screen loads what it shows: one helper instead of an effect and a version counter in
// every component. The fetch runs again whenever a reactive value it reads before its first
// `await` changes (the case id, a filter) and whenever `app.version` moves (something changed
// elsewhere, or the sync brought news); an answer that arrives after a newer request was made
// is dropped, so switching cases quickly never shows the previous case. `act` runs an action
// with the screen's busy state held and its error said in words, then lets every screen reload.
import { Latest } from "./latest";
import { app, attempt, changed, showError } from "./state.svelte";

export interface Loaded<T> {
  /** The newest answer (or the initial value until the first one arrives). */
  readonly value: T;
  /** Whether an action started with `act` is running. */
  readonly busy: boolean;
  /** Fetches again now (after a change only this screen knows of). */
  reload(): Promise<void>;
  /** Runs an action; on success every screen reloads. Returns whether it succeeded. */
  act(action: () => Promise<unknown>): Promise<boolean>;
}

export function loader<T>(fetch: () => Promise<T>, initial: T): Loaded<T> {
  const state = $state({ value: initial, busy: false });
  const latest = new Latest();
  const reload = () =>
    latest.settle(
      fetch(),
      (v) => (state.value = v),
      (e) => showError(e),
    );
  $effect(() => {
    void app.version;
    void reload();
  });
  return {
    get value() {
      return state.value;
    },
    get busy() {
      return state.busy;
    },
    reload,
    async act(action) {
      state.busy = true;
      try {
        const ok = await attempt(action);
        if (ok) changed();
        return ok;
      } finally {
        state.busy = false;
      }
    },
  };
}
