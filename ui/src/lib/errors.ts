// What to tell a physician for each error code: what happened and what to do next.
import type { ErrorCode, PublicError } from "./api";

const advice: Record<ErrorCode, string> = {
  wrong_passphrase: "That passphrase is not the one for this profile. Check Caps Lock and try again.",
  vault_missing: "There is no profile here yet. Create one to start.",
  vault_exists: "A profile already exists here. Unlock it instead.",
  vault_busy: "This profile is open in another Consilium window. Close it first.",
  vault_damaged: "The profile's files are damaged. Restore them from a backup.",
  attachment_damaged: "An image file of this case is damaged; the rest of the case is safe.",
  not_found: "It is no longer there; it may have been deleted.",
  invalid_input: "Please correct the highlighted information.",
  image_unreadable: "This image could not be read. Try exporting it again from its source.",
  image_too_large: "This image is too large. Export a smaller version and try again.",
  image_unsupported: "This file type is not supported. Use JPEG, PNG, TIFF or WebP.",
  disk_full: "The disk is full. Free some space, then try again; nothing was lost.",
  io: "The computer could not read or write a file. Try again.",
  offline: "Offline: what you did is saved and will be sent when the relay is reachable.",
  relay_refused: "The relay refused this. The invitation may have expired, or you were removed.",
  circle_refused: "This circle operation was refused.",
  locked: "Consilium is locked. Enter your passphrase to continue.",
  identifiers_found:
    "The text may identify the patient. Edit each highlighted finding out, or mark it “not an identifier”, then share again.",
  image_review_needed:
    "An image of this case waits for you: open it in the redaction editor, settle the proposed face boxes or check it for burned-in text, then share again.",
  untrusted_input:
    "A relay or a circle member sent something that failed Consilium's checks. It was refused; nothing of yours was changed.",
  backup_damaged:
    "This backup is incomplete or was altered, so nothing was restored from it. Try another copy of the backup.",
  wrong_recovery_code:
    "That recovery code does not open this backup. Check it against the code you wrote down when the backup was made.",
  internal: "Something went wrong inside Consilium. Your data was not changed by it.",
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
    return { title: advice.internal, detail: "" };
  }
  return { title: advice[e.code], detail: e.message };
}
