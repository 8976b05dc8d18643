// The catalogs against English, the glossary, and the window's sources: every language has every
// message with the same placeholders and plural forms, nothing is left in English, clinical terms
// follow the glossary, and no component or lib/ module writes words a physician reads outside
// the catalogs.
import { parse, TYPE, type MessageFormatElement } from "@formatjs/icu-messageformat-parser";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseSvelte } from "svelte/compiler";
import { describe, expect, it } from "vitest";
import { catalogs, date, LANGUAGES, t, useLanguage, type Lang } from "../lib/i18n.svelte";
import glossary from "./glossary.json";
import sameAsEnglish from "./same-as-english.json";

const en = catalogs.en;
const others = LANGUAGES.filter((l) => l !== "en") as Exclude<Lang, "en">[];

/** Each argument of a message, with its kind and, for plurals and selects, the cases it gives. */
function shape(message: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (els: MessageFormatElement[]) => {
    for (const el of els) {
      if (el.type === TYPE.argument) out[el.value] ??= "argument";
      else if (el.type === TYPE.plural || el.type === TYPE.select) {
        out[el.value] = `${el.type === TYPE.plural ? "plural" : "select"}`;
        for (const o of Object.values(el.options)) walk(o.value);
      } else if (el.type === TYPE.number || el.type === TYPE.date || el.type === TYPE.time) out[el.value] = String(el.type);
      else if (el.type === TYPE.tag) walk(el.children);
    }
  };
  walk(parse(message));
  return out;
}

/** Plural arguments without `one` or `other`. */
function pluralsMissingForms(message: string): string[] {
  const missing: string[] = [];
  const walk = (els: MessageFormatElement[]) => {
    for (const el of els) {
      if (el.type === TYPE.plural) {
        for (const form of ["one", "other"]) if (!(form in el.options)) missing.push(`${el.value}: ${form}`);
        for (const o of Object.values(el.options)) walk(o.value);
      } else if (el.type === TYPE.select) for (const o of Object.values(el.options)) walk(o.value);
    }
  };
  walk(parse(message));
  return missing;
}

/** The words of a message as read, without its placeholders and ICU keywords. */
function prose(message: string): string {
  const words: string[] = [];
  const walk = (els: MessageFormatElement[]) => {
    for (const el of els) {
      if (el.type === TYPE.literal) words.push(el.value);
      else if (el.type === TYPE.plural || el.type === TYPE.select) for (const o of Object.values(el.options)) walk(o.value);
    }
  };
  walk(parse(message));
  return words.join(" ");
}

const ENGLISH_WORDS = /\b(the|and|of|with|your|you|is|are|this|that|from|to|been|were|which|cannot|has|have)\b/i;

describe("the catalogs", () => {
  it("every message parses, and English gives every plural its one and other forms", () => {
    for (const [key, message] of Object.entries(en)) {
      expect(() => parse(message), key).not.toThrow();
      expect(pluralsMissingForms(message), key).toEqual([]);
    }
  });

  for (const lang of others) {
    it(`${lang} has every message, and only those, with English's placeholders`, () => {
      const catalog = catalogs[lang];
      expect(Object.keys(catalog).sort()).toEqual(Object.keys(en).sort());
      for (const [key, message] of Object.entries(en)) {
        expect(shape(catalog[key]), `${lang} ${key}`).toEqual(shape(message));
        expect(pluralsMissingForms(catalog[key]), `${lang} ${key}`).toEqual([]);
      }
    });

    it(`${lang} leaves nothing in English`, () => {
      const allowed = new Set((sameAsEnglish as unknown as Record<string, string[]>)[lang] ?? []);
      const untranslated = Object.keys(en).filter((key) => catalogs[lang][key] === en[key] && !allowed.has(key));
      expect(untranslated, `${lang}: the same as English (list real exceptions in same-as-english.json)`).toEqual([]);
      const english = Object.keys(en).filter((key) => ENGLISH_WORDS.test(prose(catalogs[lang][key])));
      expect(english, `${lang}: English words left`).toEqual([]);
    });

    it(`${lang} follows the glossary of clinical terms`, () => {
      const wrong: string[] = [];
      for (const [term, forms] of Object.entries(glossary)) {
        if (term.startsWith("_")) continue;
        const f = forms as Record<string, string[]>;
        for (const [key, message] of Object.entries(en)) {
          const english = prose(message).toLowerCase();
          const uses = f.en.some((w) => new RegExp(`(^|[^a-z])${w.toLowerCase()}($|[^a-z])`).test(english));
          const translation = prose(catalogs[lang][key]).toLowerCase();
          if (uses && !f[lang].some((w) => translation.includes(w.toLowerCase()))) {
            wrong.push(`${key}: “${term}” should read ${f[lang].join(" / ")}: ${catalogs[lang][key]}`);
          }
        }
      }
      expect(wrong).toEqual([]);
    });
  }

  it("the allowed exceptions are real messages that really read the same", () => {
    for (const [lang, keys] of Object.entries(sameAsEnglish as unknown as Record<string, string[]>)) {
      if (lang.startsWith("_")) continue;
      for (const key of keys) expect(catalogs[lang as Lang][key], `${lang} ${key}`).toBe(en[key]);
    }
  });
});

describe("dates, numbers and plurals per language", () => {
  const march12 = Date.UTC(2026, 2, 12, 12);

  it("writes a day as each language does", () => {
    const days: Record<Lang, string> = { en: "March 12, 2026", fr: "12 mars 2026", es: "12 de marzo de 2026", de: "12. März 2026" };
    for (const lang of LANGUAGES) {
      useLanguage(lang);
      expect(date(march12)).toBe(days[lang]);
    }
    useLanguage("en");
  });

  it("counts with each language's plural rules", () => {
    useLanguage("fr");
    expect(t("list.images", { n: 0 })).toMatch(/^0 image$/);
    expect(t("list.images", { n: 1 })).toMatch(/^1 image$/);
    expect(t("list.images", { n: 2 })).toMatch(/^2 images$/);
    useLanguage("de");
    expect(t("list.comments", { n: 1 })).toBe("1 Kommentar");
    expect(t("list.comments", { n: 3 })).toBe("3 Kommentare");
    useLanguage("es");
    expect(t("list.images", { n: 2 })).toBe("2 imágenes");
    useLanguage("en");
    // The same message text as French's, with English's rules (svelte-i18n alone gave "0 image").
    expect(t("list.images", { n: 0 })).toBe("0 images");
  });
});

describe("the window's sources", () => {
  const src = join(__dirname, "..");
  const files = (dir: string, ext: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(dir, e.name), ext) : e.name.endsWith(ext) ? [join(dir, e.name)] : [],
    );
  const READ = new Set(["aria-label", "title", "placeholder", "alt", "aria-valuetext"]);
  const letters = /\p{L}{2,}/u;
  /** Example paths and codes in placeholders read the same in every language. */
  const neutral = (v: string) => v.startsWith("/") || /^[A-Z0-9…-]+$/.test(v);

  it("no component writes words outside the catalogs", () => {
    const found: string[] = [];
    for (const file of files(src, ".svelte")) {
      const ast = parseSvelte(readFileSync(file, "utf8"), { modern: true });
      const walk = (node: unknown, ownLanguage: boolean) => {
        if (!node || typeof node !== "object") return;
        const n = node as { type?: string; data?: string; name?: string; attributes?: unknown[]; value?: unknown };
        // An element that declares its own language (the language names) is meant as written.
        const own =
          ownLanguage || (Array.isArray(n.attributes) && n.attributes.some((a) => (a as { name?: string }).name === "lang"));
        if (n.type === "Text" && !own && letters.test(n.data ?? "")) found.push(`${file}: “${n.data!.trim()}”`);
        if (n.type === "Attribute" && READ.has(n.name ?? "") && Array.isArray(n.value)) {
          for (const v of n.value as { type: string; data?: string }[]) {
            if (v.type === "Text" && letters.test(v.data ?? "") && !neutral(v.data ?? "")) found.push(`${file}: ${n.name}="${v.data}"`);
          }
        }
        for (const [k, v] of Object.entries(n)) {
          if (k === "attributes" || k === "fragment" || k === "nodes" || k === "children" || k === "consequent" || k === "alternate" || k === "body" || k === "fallback" || k === "pending" || k === "then" || k === "catch") {
            if (Array.isArray(v)) v.forEach((c) => walk(c, own));
            else walk(v, own);
          }
        }
      };
      walk(ast.fragment, false);
    }
    expect(found).toEqual([]);
  });

  it("no module of lib/ writes sentences outside the catalogs", () => {
    const found: string[] = [];
    const sentence = /(["`])(?:(?!\1).)*\p{L}{2,} \p{L}{2,}(?:(?!\1).)*\1/gu;
    for (const file of files(join(src, "lib"), ".ts")) {
      if (file.endsWith(".test.ts") || file.endsWith("bindings.ts")) continue;
      for (const line of readFileSync(file, "utf8").split("\n")) {
        // A key the engine uses, not words a physician reads, is marked where it is written.
        if (line.includes("engine's key")) continue;
        const code = line.replace(/\/\*.*?\*\//g, "").replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "");
        for (const m of code.matchAll(sentence)) found.push(`${file}: ${m[0]}`);
      }
    }
    expect(found).toEqual([]);
  });
});
