import { describe, expect, it } from "vitest";
import { parseNames, snippet, unresolved } from "./findings";
import type { TextFinding } from "./api";

const finding = (over: Partial<TextFinding>): TextFinding => ({
  field: "history",
  kind: "date",
  matched: "",
  start: 0,
  end: 0,
  start_utf16: 0,
  end_utf16: 0,
  acknowledged: false,
  ...over,
});

describe("snippet", () => {
  it("marks the finding with the words around it, cut at spaces", () => {
    const text = "Slowly enlarging plaque first seen on 12/03/2024 by the GP, treated with a steroid cream since then.";
    const at = text.indexOf("12/03/2024");
    const s = snippet(text, { start_utf16: at, end_utf16: at + 10, matched: "12/03/2024" }, 20);
    expect(s.marked).toBe("12/03/2024");
    expect(s.before).toBe("…first seen on ");
    expect(s.after).toBe(" by the GP, treated…");
  });

  it("counts offsets in UTF-16 units, as the engine gives them", () => {
    const text = "Née 😀 le 3 février";
    const at = text.indexOf("3 février");
    const s = snippet(text, { start_utf16: at, end_utf16: at + 9, matched: "3 février" });
    expect(s.marked).toBe("3 février");
    expect(s.before).toBe("Née 😀 le ");
  });

  it("falls back to the matched text when the field changed under it", () => {
    expect(snippet("short", { start_utf16: 40, end_utf16: 50, matched: "12/03" }).marked).toBe("12/03");
  });
});

describe("review state", () => {
  it("counts what is still to decide", () => {
    expect(unresolved([finding({}), finding({ acknowledged: true }), finding({})])).toBe(2);
  });

  it("reads names one per line or separated by commas, without repeats", () => {
    expect(parseNames("Hélène Dupont\n  Marc ; marc, \n,Jean-Luc Martin")).toEqual([
      "Hélène Dupont",
      "Marc",
      "Jean-Luc Martin",
    ]);
  });
});
