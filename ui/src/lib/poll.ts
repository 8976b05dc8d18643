// How a poll's tally is shown: each option's votes, its share of the votes cast, and whether it
// leads (ties lead together; nothing leads before the first vote).
import type { PollView } from "./api";
import { t } from "./i18n.svelte";

export interface TallyRow {
  option: string;
  votes: number;
  /** Whole percent of the votes cast; the rows add up to 100 once anyone voted. */
  percent: number;
  leading: boolean;
  mine: boolean;
}

export function tally(poll: PollView): { rows: TallyRow[]; total: number } {
  const total = poll.options.reduce((n, [, v]) => n + v, 0);
  const top = Math.max(0, ...poll.options.map(([, v]) => v));
  // Largest-remainder rounding, so the percentages add up to exactly 100.
  const exact = poll.options.map(([, v]) => (total ? (v * 100) / total : 0));
  const percent = exact.map(Math.floor);
  let left = total ? 100 - percent.reduce((a, b) => a + b, 0) : 0;
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    percent[i] += 1;
    left -= 1;
  }
  return {
    total,
    rows: poll.options.map(([option, votes], i) => ({
      option,
      votes,
      percent: percent[i],
      leading: total > 0 && votes === top,
      mine: poll.my_vote === i,
    })),
  };
}

export function votesLabel(n: number): string {
  return t("poll.votes", { n });
}
