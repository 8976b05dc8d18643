// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { modal } from "./dialog";

function dialog() {
  const node = document.createElement("div");
  node.tabIndex = -1;
  node.innerHTML = `<button id="undo">Undo</button><button id="done">Done</button>`;
  document.body.append(node);
  return node;
}

const press = (key: string, at: EventTarget = document.activeElement ?? document.body) =>
  at.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true }));

afterEach(() => {
  document.body.innerHTML = "";
});

describe("modal", () => {
  it("still closes on Escape and takes Tab back after its focused button went disabled", () => {
    const opener = document.createElement("button");
    document.body.append(opener);
    opener.focus();
    const node = dialog();
    let closed = 0;
    const action = modal(node, () => closed++);
    const undo = node.querySelector<HTMLButtonElement>("#undo")!;
    undo.focus();
    // The last undo done: the button is disabled and the browser drops its focus to the body.
    undo.blur();
    undo.disabled = true;
    expect(document.activeElement).toBe(document.body);

    press("Tab", document.body);
    expect(node.contains(document.activeElement)).toBe(true);
    (document.activeElement as HTMLElement).blur();
    press("Escape", document.body);
    expect(closed).toBe(1);

    action.destroy();
    expect(document.activeElement).toBe(opener);
  });

  it("leaves keys alone once closed, and only the dialog opened last answers", () => {
    const first = dialog();
    let firstClosed = 0;
    const a = modal(first, () => firstClosed++);
    const second = dialog();
    let secondClosed = 0;
    const b = modal(second, () => secondClosed++);
    press("Escape", document.body);
    expect([firstClosed, secondClosed]).toEqual([0, 1]);
    b.destroy();
    press("Escape", document.body);
    expect(firstClosed).toBe(1);
    a.destroy();
    press("Escape", document.body);
    expect(firstClosed).toBe(1);
  });
});
