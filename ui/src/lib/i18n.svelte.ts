// The window's words. Every string a physician reads comes from the message catalogs in
// `src/i18n` (ICU MessageFormat: plurals and numbers per language), formatted by svelte-i18n,
// in the language the settings name or else the system's. The catalogs follow one glossary of
// clinical terms per language (`src/i18n/glossary.json`); a test holds both to it.
//
// `t` and the date helpers read the current language, so a template or `$derived` that calls
// them (directly or through a function of `lib/`) is drawn again when the language changes.
import { IntlMessageFormat } from "intl-messageformat";
import { addMessages, date as dateFormat, init, json, locale } from "svelte-i18n";
import { get } from "svelte/store";
import type { Language } from "./api";
import de from "../i18n/de.json";
import en from "../i18n/en.json";
import es from "../i18n/es.json";
import fr from "../i18n/fr.json";

export type MessageKey = keyof typeof en;
export type Values = Record<string, string | number>;

export const LANGUAGES = ["en", "fr", "es", "de"] as const;
export type Lang = (typeof LANGUAGES)[number];

/** Each language's catalog; English is the reference every other one must match key for key. */
export const catalogs: Record<Lang, Record<string, string>> = { en, fr, es, de };

for (const l of LANGUAGES) addMessages(l, catalogs[l]);
init({ fallbackLocale: "en", initialLocale: "en" });

const current = $state({ lang: "en" as Lang });

/** The language to show: the one chosen in the settings, or the system's when it is one of ours. */
export function pickLanguage(choice: Language, system: string): Lang {
  if (choice !== "system") return choice;
  const base = system.toLowerCase().split(/[-_.@]/)[0];
  return (LANGUAGES as readonly string[]).includes(base) ? (base as Lang) : "en";
}

export function useLanguage(lang: Lang) {
  locale.set(lang);
  current.lang = lang;
  if (typeof document !== "undefined") document.documentElement.lang = lang;
}

export function language(): Lang {
  return current.lang;
}

// Formatters by language and message. svelte-i18n's own formatting memoizes on the message
// text alone, so a message written the same in two languages ("{n, plural, one {# image}
// other {# images}}" in English and French) would keep the plural rules of whichever language
// formatted it first: "0 image" in English after French. Its lookup and locale are used; the
// formatting is done here, per language.
const formatters = new Map<string, IntlMessageFormat>();

/** The message `key` in the current language, with its `{placeholders}` filled in. */
export function t(key: MessageKey, values?: Values): string {
  const lang = current.lang;
  const message = get(json)(key, lang);
  if (typeof message !== "string") return key;
  const id = `${lang}\u0000${message}`;
  let formatter = formatters.get(id);
  if (!formatter) {
    formatter = new IntlMessageFormat(message, lang);
    formatters.set(id, formatter);
  }
  return String(formatter.format(values ?? {}));
}

/** A day as the language writes it in full: "12 March 2026", "12 mars 2026", "12. März 2026". */
export function date(ms: number): string {
  void current.lang;
  return get(dateFormat)(new Date(ms), { format: "long" });
}

/** A day and time, in each language's order: "12 March 2026 at 14:05", "12 mars 2026 à 14:05". */
export function dateTime(ms: number): string {
  void current.lang;
  return get(dateFormat)(new Date(ms), { day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit" });
}
