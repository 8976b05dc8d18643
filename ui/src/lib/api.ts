// Typed bindings to the window's commands (src-tauri/src/commands.rs). Every failure arrives as
// a `PublicError` with a closed `code`; the UI never reads message text to decide anything.
import { invoke } from "@tauri-apps/api/core";

export type ErrorCode =
  | "wrong_passphrase"
  | "vault_missing"
  | "vault_exists"
  | "vault_busy"
  | "vault_damaged"
  | "attachment_damaged"
  | "not_found"
  | "invalid_input"
  | "image_unreadable"
  | "image_too_large"
  | "image_unsupported"
  | "disk_full"
  | "io"
  | "offline"
  | "relay_refused"
  | "circle_refused"
  | "locked"
  | "internal";

export interface PublicError {
  code: ErrorCode;
  message: string;
}

export interface ProfileStatus {
  exists: boolean;
  unlocked: boolean;
}

export interface Identity {
  account: string;
  name: string;
  specialty: string;
}

export interface CaseSummary {
  id: string;
  title: string;
  specialty: string;
  status: string;
  urgency: string;
  revision: number;
  attachment_count: number;
  comment_count: number;
  created_at: number;
  updated_at: number;
  tags: string[];
}

export interface CaseFilter {
  status?: string;
  specialty?: string;
  tag?: string;
}

export const api = {
  profileStatus: () => invoke<ProfileStatus>("profile_status"),
  createProfile: (name: string, specialty: string, passphrase: string) =>
    invoke<Identity>("create_profile", { name, specialty, passphrase }),
  unlock: (passphrase: string) => invoke<Identity>("unlock", { passphrase }),
  lock: () => invoke<void>("lock"),
  identity: () => invoke<Identity>("identity"),
  listCases: (filter: CaseFilter = {}) => invoke<CaseSummary[]>("list_cases", { filter }),
};
