import { describe, expect, it } from "vitest";
import { emptyForm, fieldsFromForm, formFromFields, patchFromForm, validate } from "./caseForm";

describe("case form", () => {
  it("needs a title and nothing else", () => {
    expect(validate(emptyForm())).toEqual({ title: "A case needs a title." });
    expect(validate({ ...emptyForm(), title: "  Erythema migrans?  " })).toEqual({});
  });

  it("refuses over-long titles, fields and tags next to the field", () => {
    const f = { ...emptyForm(), title: "x".repeat(201), history: "é".repeat(40_000), tags: "a, " + "b".repeat(49) };
    const p = validate(f);
    expect(p.title).toMatch(/200/);
    expect(p.history).toMatch(/64 KiB/);
    expect(p.tags).toMatch(/48/);
    expect(validate({ ...emptyForm(), title: "t", tags: Array.from({ length: 33 }, (_, i) => `t${i}`).join(",") }).tags).toMatch(/32/);
  });

  it("counts multi-byte text in bytes as the engine does", () => {
    expect(validate({ ...emptyForm(), title: "t", history: "é".repeat(32_768) }).history).toBeUndefined();
    expect(validate({ ...emptyForm(), title: "t", history: "é".repeat(32_769) }).history).toBeDefined();
  });

  it("turns lines and commas into lists, dropping blanks and repeated tags", () => {
    const fields = fieldsFromForm({
      ...emptyForm("Dermatology"),
      title: " Annular plaque ",
      differential: "Tinea corporis\n\n  Granuloma annulare \n",
      tags: "Annular, annular ,  rash,",
      age_band: "40-49",
      sex: "female",
    });
    expect(fields.title).toBe("Annular plaque");
    expect(fields.differential).toEqual(["Tinea corporis", "Granuloma annulare"]);
    expect(fields.tags).toEqual(["annular", "rash"]);
    expect(fields.age_band).toBe("40-49");
    expect(fields.question_kind).toBeNull();
  });

  it("round-trips stored fields, and an edit leaves the timeline alone", () => {
    const fields = fieldsFromForm({ ...emptyForm("Cardiology"), title: "Syncope", differential: "Vasovagal\nLong QT", tags: "ecg" });
    expect(fieldsFromForm(formFromFields(fields))).toEqual(fields);
    expect("timeline" in patchFromForm(formFromFields(fields))).toBe(false);
  });
});
