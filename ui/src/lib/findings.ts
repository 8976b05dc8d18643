// The text scan's findings as the review step shows them: grouped by field, each with the words
// around it and the finding itself to highlight.
import type { FindingKind, TextFinding } from "./api";

const KIND_WORDS: Record<FindingKind, string> = {
  name: "Name on this case's list",
  date: "Date",
  age: "Age over 89",
  phone: "Phone or fax number",
  email: "E-mail address",
  url: "Web address",
  ip: "IP address",
  record: "Record or identity number",
  ssn: "Social security number",
  nir: "NIR (French social security number)",
  dni: "DNI / NIE",
  number: "Long number",
  postcode: "Postcode",
  address: "Street address",
};

const FIELD_WORDS: Record<string, string> = {
  title: "Title",
  chief_complaint: "Chief complaint",
  history: "History",
  examination: "Examination",
  investigations: "Investigations",
  working_diagnosis: "Working diagnosis",
  differential: "Differential",
  question: "Question",
  specialty: "Specialty",
  timeline: "Timeline",
  tags: "Tags",
  outcome: "Outcome",
  "new text": "New text",
};

export function kindWords(kind: FindingKind): string {
  return KIND_WORDS[kind] ?? kind;
}

export function fieldWords(field: string): string {
  return FIELD_WORDS[field] ?? field;
}

export interface Snippet {
  before: string;
  marked: string;
  after: string;
}

/**
 * The finding in its field's text with up to `radius` characters either side, cut at word
 * boundaries where possible ("…" where text was left out). Offsets are UTF-16, as JS strings.
 */
export function snippet(text: string, f: Pick<TextFinding, "start_utf16" | "end_utf16" | "matched">, radius = 40): Snippet {
  const start = Math.max(0, Math.min(f.start_utf16, text.length));
  const end = Math.max(start, Math.min(f.end_utf16, text.length));
  const marked = text.slice(start, end) || f.matched;
  let from = Math.max(0, start - radius);
  let to = Math.min(text.length, end + radius);
  if (from > 0) {
    const space = text.indexOf(" ", from);
    if (space !== -1 && space < start) from = space + 1;
  }
  if (to < text.length) {
    const space = text.lastIndexOf(" ", to);
    if (space > end) to = space;
  }
  return {
    before: (from > 0 ? "…" : "") + text.slice(from, start),
    marked,
    after: text.slice(end, to) + (to < text.length ? "…" : ""),
  };
}

/** How many findings still wait for the author's decision. */
export function unresolved(findings: TextFinding[]): number {
  return findings.filter((f) => !f.acknowledged).length;
}

/** Names typed one per line or separated by commas or semicolons, trimmed, without repeats. */
export function parseNames(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of text.split(/[\n,;]/)) {
    const name = raw.trim();
    if (name && !seen.has(name.toLowerCase())) {
      seen.add(name.toLowerCase());
      out.push(name);
    }
  }
  return out;
}
