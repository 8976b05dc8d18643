// The text scan's findings as the review step shows them: grouped by field, each with the words
// around it and the finding itself to highlight.
import type { FindingKind, TextFinding } from "./api";
import { t, type MessageKey } from "./i18n.svelte";

const KIND_WORDS: Record<FindingKind, MessageKey> = {
  name: "finding.name",
  date: "finding.date",
  age: "finding.age",
  phone: "finding.phone",
  email: "finding.email",
  url: "finding.url",
  ip: "finding.ip",
  record: "finding.record",
  ssn: "finding.ssn",
  nir: "finding.nir",
  dni: "finding.dni",
  number: "finding.number",
  postcode: "finding.postcode",
  address: "finding.address",
};

const FIELD_WORDS: Record<string, MessageKey> = {
  title: "field.title",
  chief_complaint: "field.chief_complaint",
  history: "field.history",
  examination: "field.examination",
  investigations: "field.investigations",
  working_diagnosis: "field.working_diagnosis",
  differential: "field.differential",
  question: "field.question",
  specialty: "field.specialty",
  timeline: "field.timeline",
  tags: "field.tags",
  outcome: "field.outcome",
  "new text": "field.new_text", // the engine's key for a comment not yet posted
};

export function kindWords(kind: FindingKind): string {
  return KIND_WORDS[kind] ? t(KIND_WORDS[kind]) : kind;
}

export function fieldWords(field: string): string {
  return FIELD_WORDS[field] ? t(FIELD_WORDS[field]) : field;
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
