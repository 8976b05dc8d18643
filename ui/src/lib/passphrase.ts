// The passphrase strength meter: a rough estimate of guessing effort in bits, from length and
// the kinds of characters used, with common weak patterns penalised. It guides; the vault's
// Argon2id makes each guess expensive either way.
import { t } from "./i18n.svelte";

export type Strength = "too_short" | "weak" | "fair" | "strong";

const MIN_CHARS = 12;

export function entropyBits(p: string): number {
  let pool = 0;
  if (/[a-z]/.test(p)) pool += 26;
  if (/[A-Z]/.test(p)) pool += 26;
  if (/[0-9]/.test(p)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(p)) pool += 33;
  const distinct = new Set(p).size;
  // Repeated characters add little: count each distinct one fully, repeats at a quarter.
  const effective = distinct + (p.length - distinct) / 4;
  let bits = effective * Math.log2(Math.max(pool, 1));
  if (/^(.)\1*$/.test(p)) bits = Math.min(bits, 8);
  if (/(0123|1234|2345|3456|4567|5678|6789|abcd|qwer|asdf|password|motdepasse)/i.test(p)) {
    bits -= 20;
  }
  return Math.max(0, Math.round(bits));
}

export function strength(p: string): Strength {
  if ([...p].length < MIN_CHARS) return "too_short";
  const bits = entropyBits(p);
  if (bits < 50) return "weak";
  if (bits < 75) return "fair";
  return "strong";
}

/** Why the passphrase cannot be used yet, or null when it can (fair or strong, confirmed). */
export function passphraseProblem(p: string, confirm: string): string | null {
  const s = strength(p);
  if (s === "too_short") return t("passphrase.too_short", { n: MIN_CHARS });
  if (s === "weak") return t("passphrase.weak");
  if (p !== confirm) return t("passphrase.differ");
  return null;
}
