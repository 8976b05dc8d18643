import { describe, expect, it } from "vitest";
import { tally, votesLabel } from "./poll";

describe("poll tally", () => {
  it("shows nothing leading before the first vote", () => {
    const t = tally({ id: "p", options: [["Biopsy", 0], ["Watch", 0]], my_vote: null });
    expect(t.total).toBe(0);
    expect(t.rows.map((r) => [r.percent, r.leading])).toEqual([[0, false], [0, false]]);
  });

  it("percentages add up to 100 and ties lead together", () => {
    const t = tally({ id: "p", options: [["A", 1], ["B", 1], ["C", 1]], my_vote: 2 });
    expect(t.rows.map((r) => r.percent)).toEqual([34, 33, 33]);
    expect(t.rows.every((r) => r.leading)).toBe(true);
    expect(t.rows.map((r) => r.mine)).toEqual([false, false, true]);
  });

  it("the option with most votes leads", () => {
    const t = tally({ id: "p", options: [["Excise", 2], ["Cryotherapy", 1]], my_vote: 0 });
    expect(t.rows.map((r) => [r.percent, r.leading])).toEqual([[67, true], [33, false]]);
    expect(votesLabel(1)).toBe("1 vote");
    expect(votesLabel(3)).toBe("3 votes");
  });
});
