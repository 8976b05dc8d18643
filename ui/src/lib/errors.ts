// What to tell a physician for each error code: what happened and what to do next.
import type { ErrorCode, PublicError } from "./api";
import { t, type MessageKey } from "./i18n.svelte";

/** Each error code's advice in the catalogs: a code the engine adds fails to compile here. */
const advice: Record<ErrorCode, MessageKey> = {
  wrong_passphrase: "error.wrong_passphrase",
  vault_missing: "error.vault_missing",
  vault_exists: "error.vault_exists",
  vault_busy: "error.vault_busy",
  vault_damaged: "error.vault_damaged",
  attachment_damaged: "error.attachment_damaged",
  not_found: "error.not_found",
  invalid_input: "error.invalid_input",
  image_unreadable: "error.image_unreadable",
  install_damaged: "error.install_damaged",
  image_too_large: "error.image_too_large",
  image_unsupported: "error.image_unsupported",
  disk_full: "error.disk_full",
  io: "error.io",
  offline: "error.offline",
  relay_refused: "error.relay_refused",
  circle_refused: "error.circle_refused",
  locked: "error.locked",
  identifiers_found: "error.identifiers_found",
  image_review_needed: "error.image_review_needed",
  untrusted_input: "error.untrusted_input",
  backup_damaged: "error.backup_damaged",
  wrong_recovery_code: "error.wrong_recovery_code",
  internal: "error.internal",
};

/** Is this value an error from the engine? */
export function isPublicError(e: unknown): e is PublicError {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as PublicError).code === "string" &&
    (e as PublicError).code in advice
  );
}

/** The words to show for any failure, by its code; an unexpected value is an internal error. */
export function describe(e: unknown): { title: string; detail: string } {
  if (!isPublicError(e)) {
    return { title: t(advice.internal), detail: "" };
  }
  return { title: t(advice[e.code]), detail: e.message };
}
