// @vitest-environment happy-dom
// (A browser-like environment: Svelte then compiles this module for the client, where effects run.)
import { flushSync } from "svelte";
import { describe, expect, it } from "vitest";
import { Latest } from "./latest";
import { loader, type Loaded } from "./loader.svelte";
import { app } from "./state.svelte";

/** Lets the promise callbacks queued so far run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("loader", () => {
  it("a slow answer for the previously opened case never replaces the current one", async () => {
    const answers: Record<string, (title: string) => void> = {};
    const input = $state({ id: "case-a" });
    let view!: Loaded<string>;
    const stop = $effect.root(() => {
      view = loader(() => {
        const id = input.id;
        return new Promise<string>((resolve) => (answers[id] = resolve));
      }, "");
    });
    flushSync();
    expect(Object.keys(answers)).toEqual(["case-a"]);
    // The user opens another case before the first answers.
    input.id = "case-b";
    flushSync();
    answers["case-b"]("Case B");
    await settle();
    expect(view.value).toBe("Case B");
    // The first case's answer comes late: it is dropped.
    answers["case-a"]("Case A");
    await settle();
    expect(view.value).toBe("Case B");
    stop();
  });

  it("reloads when something changed elsewhere, and an action holds the busy state", async () => {
    let fetched = 0;
    let view!: Loaded<number>;
    const stop = $effect.root(() => {
      view = loader(async () => ++fetched, 0);
    });
    flushSync();
    await settle();
    expect(view.value).toBe(1);
    let release!: () => void;
    const acting = view.act(() => new Promise<void>((r) => (release = r)));
    expect(view.busy).toBe(true);
    release();
    expect(await acting).toBe(true);
    expect(view.busy).toBe(false);
    flushSync();
    await settle();
    expect(view.value).toBe(2);
    // A failed action says why and changes nothing.
    const before = app.version;
    expect(await view.act(() => Promise.reject({ code: "offline", message: "down" }))).toBe(false);
    expect(app.version).toBe(before);
    expect(app.error?.title).toContain("Offline");
    stop();
  });
});

describe("Latest", () => {
  it("applies only the newest request's answer or failure", async () => {
    const latest = new Latest();
    const seen: string[] = [];
    let first!: (v: string) => void;
    const a = latest.settle(new Promise<string>((r) => (first = r)), (v) => seen.push(v), () => seen.push("err"));
    const b = latest.settle(Promise.resolve("second"), (v) => seen.push(v), () => seen.push("err"));
    await b;
    first("first");
    await a;
    expect(seen).toEqual(["second"]);
    const c = latest.settle(Promise.reject(new Error("x")), () => seen.push("c"), () => seen.push("failed"));
    await c;
    expect(seen).toEqual(["second", "failed"]);
  });
});
