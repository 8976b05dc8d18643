// The case form: what the author types, checked before it reaches the engine, and turned into
// the fields the engine stores. The engine checks again; these checks only say it sooner and
// next to the field.
import type { CaseFields, QuestionKind, Sex, Urgency } from "./api";
import { t } from "./i18n.svelte";

export interface CaseForm {
  title: string;
  age_band: string;
  sex: Sex | "";
  chief_complaint: string;
  history: string;
  examination: string;
  investigations: string;
  working_diagnosis: string;
  /** One differential diagnosis per line. */
  differential: string;
  question: string;
  question_kind: QuestionKind | "";
  urgency: Urgency;
  specialty: string;
  /** Comma-separated. */
  tags: string;
}

export const AGE_BANDS = ["<1", "1-4", "5-9", "10-14", "15-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90+"];

export const MAX_TITLE_CHARS = 200;
export const MAX_FIELD_BYTES = 64 * 1024;
export const MAX_TAGS = 32;
export const MAX_TAG_CHARS = 48;

export function emptyForm(specialty = ""): CaseForm {
  return {
    title: "",
    age_band: "",
    sex: "",
    chief_complaint: "",
    history: "",
    examination: "",
    investigations: "",
    working_diagnosis: "",
    differential: "",
    question: "",
    question_kind: "",
    urgency: "routine",
    specialty,
    tags: "",
  };
}

export function formFromFields(f: CaseFields): CaseForm {
  return {
    title: f.title,
    age_band: f.age_band ?? "",
    sex: f.sex ?? "",
    chief_complaint: f.chief_complaint,
    history: f.history,
    examination: f.examination,
    investigations: f.investigations,
    working_diagnosis: f.working_diagnosis,
    differential: f.differential.join("\n"),
    question: f.question,
    question_kind: f.question_kind ?? "",
    urgency: f.urgency,
    specialty: f.specialty,
    tags: f.tags.join(", "),
  };
}

export function tagsOf(text: string): string[] {
  const seen: string[] = [];
  for (const t of text.split(",")) {
    const tag = t.trim().toLowerCase();
    if (tag && !seen.includes(tag)) seen.push(tag);
  }
  return seen;
}

export function fieldsFromForm(f: CaseForm): CaseFields {
  return {
    title: f.title.trim(),
    age_band: f.age_band || null,
    sex: f.sex || null,
    chief_complaint: f.chief_complaint,
    history: f.history,
    examination: f.examination,
    investigations: f.investigations,
    timeline: [],
    working_diagnosis: f.working_diagnosis,
    differential: f.differential
      .split("\n")
      .map((d) => d.trim())
      .filter((d) => d.length > 0),
    question: f.question,
    question_kind: f.question_kind || null,
    urgency: f.urgency,
    specialty: f.specialty.trim(),
    tags: tagsOf(f.tags),
  };
}

/** The fields of `fields` an edit sends (all but the timeline, which the form does not show). */
export function patchFromForm(f: CaseForm): Partial<CaseFields> {
  const { timeline: _timeline, ...patch } = fieldsFromForm(f);
  return patch;
}

const bytes = (s: string) => new TextEncoder().encode(s).length;

/** Problems by field name; empty when the form can be saved. */
export function validate(f: CaseForm): Record<string, string> {
  const problems: Record<string, string> = {};
  if (!f.title.trim()) problems.title = t("form.title_needed");
  else if ([...f.title].length > MAX_TITLE_CHARS) problems.title = t("form.at_most_chars", { n: MAX_TITLE_CHARS });
  for (const key of ["chief_complaint", "history", "examination", "investigations", "working_diagnosis", "differential", "question"] as const) {
    if (bytes(f[key]) > MAX_FIELD_BYTES) problems[key] = t("form.at_most_kib", { n: MAX_FIELD_BYTES / 1024 });
  }
  if (f.age_band && !AGE_BANDS.includes(f.age_band)) problems.age_band = t("form.choose_age_band");
  const tags = tagsOf(f.tags);
  if (tags.length > MAX_TAGS) problems.tags = t("form.at_most_tags", { n: MAX_TAGS });
  else if (tags.some((tag) => [...tag].length > MAX_TAG_CHARS)) problems.tags = t("form.tag_too_long", { n: MAX_TAG_CHARS });
  return problems;
}
