// Typed bindings to the window's commands (src-tauri/src/commands) and events
// (src-tauri/src/background.rs). Every failure arrives as a `PublicError` with a closed `code`;
// the UI never reads message text to decide anything.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

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
  | "identifiers_found"
  | "internal";

export interface PublicError {
  code: ErrorCode;
  message: string;
}

export type Theme = "light" | "dark" | "system";

export interface Settings {
  relay: string;
  auto_lock_minutes: number;
  theme: Theme;
}

export interface ProfileStatus {
  exists: boolean;
  unlocked: boolean;
  settings: Settings;
}

export interface Identity {
  account: string;
  name: string;
  specialty: string;
}

export type Status = "open" | "resolved";
export type Urgency = "routine" | "soon" | "urgent";
export type Sex = "female" | "male" | "other" | "unspecified";
export type QuestionKind = "diagnosis" | "management" | "drug" | "procedure" | "other";

export interface CaseSummary {
  id: string;
  title: string;
  specialty: string;
  status: Status;
  urgency: Urgency;
  revision: number;
  attachment_count: number;
  comment_count: number;
  created_at: number;
  updated_at: number;
  tags: string[];
  received: boolean;
  unread: boolean;
}

export interface CaseFilter {
  status?: Status | null;
  specialty?: string | null;
  tag?: string | null;
  /** A circle's id as bytes. */
  circle?: number[] | null;
  drafts?: boolean;
  unread?: boolean;
}

export interface CaseFields {
  title: string;
  age_band: string | null;
  sex: Sex | null;
  chief_complaint: string;
  history: string;
  examination: string;
  investigations: string;
  timeline: { day: number; event: string }[];
  working_diagnosis: string;
  differential: string[];
  question: string;
  question_kind: QuestionKind | null;
  urgency: Urgency;
  specialty: string;
  tags: string[];
}

export interface DeidReport {
  source_format: string;
  exif_fields: number;
  gps: boolean;
  camera_model: boolean;
  camera_serial: boolean;
  timestamps: boolean;
  embedded_thumbnail: boolean;
  xmp: boolean;
  iptc: boolean;
  icc_profile: boolean;
  maker_note: boolean;
  orientation_applied: number | null;
  frames_dropped: boolean;
  redactions: number;
  output_format: string;
  proposals: Proposal[];
  proposals_accepted: number;
  proposals_dismissed: number;
  dicom: DicomReport | null;
  reviewed: boolean;
}

/** A rectangle proposed for redaction (a face), in pixels of the stored image. */
export interface Proposal extends Rect {
  kind: "face";
}

export type BurnedInRisk = "ultrasound" | "secondary_capture" | "other" | "declared_burned_in";

export interface DicomReport {
  modality: string | null;
  body_part: string | null;
  frames: number;
  frame: number;
  attributes_dropped: number;
  identifying_dropped: string[];
  burned_in_risk: BurnedInRisk | null;
}

/** An image that waits for the author before the case can be shared. */
export interface PendingImage {
  attachment: string;
  position: number;
  reasons: string[];
}

export type Resolution = "open" | "acknowledged" | "edited_out";

export interface CaseDeidReport {
  images: { position: number; attachment: string; summary: string; pending: string[]; report: DeidReport }[];
  text: { field: string; kind: FindingKind; matched: string; resolution: Resolution }[];
  names_listed: number;
  made_at: number;
  last_shared_at: number | null;
}

export interface Attachment {
  id: string;
  mime: string;
  width: number;
  height: number;
  size: number;
  report: DeidReport;
  created_at: number;
}

export interface Comment {
  id: string;
  reply_to: string | null;
  author: string;
  body: string;
  created_at: number;
}

export interface Case {
  id: string;
  fields: CaseFields;
  status: Status;
  outcome: string | null;
  revision: number;
  created_at: number;
  updated_at: number;
  attachments: Attachment[];
  comments: Comment[];
}

export interface PollView {
  id: string;
  options: [string, number][];
  my_vote: number | null;
}

export interface CaseView {
  case: Case;
  own: boolean;
  author: string | null;
  circles: string[];
  polls: PollView[];
  names: Record<string, string>;
}

export interface SidebarEntry {
  id: string;
  name: string;
  cases: number;
  unread: number;
}

export interface SearchHit {
  id: string;
  title: string;
  field: string;
  snippet: string;
}

export interface CircleInfo {
  id: string;
  name: string;
  relay: string;
  epoch: number;
  members: number;
}

export type Verification = "verified" | "unverified" | "changed";

export interface MemberInfo {
  account: string;
  name: string;
  specialty: string;
  is_me: boolean;
  safety_number: string;
  verification: Verification;
}

export interface JoinRequestInfo {
  id: number;
  account: string;
  name: string;
  specialty: string;
  safety_number: string;
  received_at: number;
  state: string;
}

export interface JoinSent {
  circle: string;
  name: string;
  relay: string;
  inviter_safety_number: string;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type Rendition = "full" | "preview" | "thumbnail";

export type FindingKind =
  | "name" | "date" | "age" | "phone" | "email" | "url" | "ip"
  | "record" | "ssn" | "nir" | "dni" | "number" | "postcode" | "address";

/** A possible identifier the text scan found in a field (offsets also in UTF-16 for JS). */
export interface TextFinding {
  field: string;
  kind: FindingKind;
  matched: string;
  start: number;
  end: number;
  start_utf16: number;
  end_utf16: number;
  acknowledged: boolean;
}

export const api = {
  profileStatus: () => invoke<ProfileStatus>("profile_status"),
  createProfile: (name: string, specialty: string, passphrase: string) =>
    invoke<Identity>("create_profile", { name, specialty, passphrase }),
  unlock: (passphrase: string) => invoke<Identity>("unlock", { passphrase }),
  lock: () => invoke<void>("lock"),
  identity: () => invoke<Identity>("identity"),
  changePassphrase: (current: string, next: string) =>
    invoke<void>("change_passphrase", { current, new: next }),
  saveSettings: (settings: Settings) => invoke<void>("save_settings", { settings }),

  sidebar: () => invoke<SidebarEntry[]>("sidebar"),
  listCases: (filter: CaseFilter = {}) => invoke<CaseSummary[]>("list_cases", { filter }),
  search: (query: string) => invoke<SearchHit[]>("search", { query }),
  openCase: (id: string) => invoke<CaseView>("open_case", { id }),
  createCase: (fields: CaseFields) => invoke<string>("create_case", { fields }),
  editCase: (id: string, patch: Partial<CaseFields>) => invoke<number>("edit_case", { id, patch }),
  resolveCase: (id: string, outcome: string) => invoke<void>("resolve_case", { id, outcome }),
  attachFiles: (caseId: string, files: string[]) =>
    invoke<Attachment[]>("attach_files", { case: caseId, files }),
  attachImage: (caseId: string, bytes: Uint8Array) =>
    invoke<Attachment>("attach_image", bytes, { headers: { case: caseId } }),
  chooseFrame: (caseId: string, attachment: string, bytes: Uint8Array, frame: number) =>
    invoke<Attachment>("choose_frame", bytes, {
      headers: { case: caseId, attachment, frame: String(frame) },
    }),
  chooseFrameFromFile: (caseId: string, attachment: string, path: string, frame: number) =>
    invoke<Attachment>("choose_frame_from_file", { case: caseId, attachment, path, frame }),
  attachment: (caseId: string, attachment: string, rendition: Rendition) =>
    invoke<ArrayBuffer>("attachment", { case: caseId, attachment, rendition }),
  redactAttachment: (caseId: string, attachment: string, rects: Rect[]) =>
    invoke<Attachment>("redact_attachment", { case: caseId, attachment, rects }),
  reviewAttachment: (caseId: string, attachment: string) =>
    invoke<Attachment>("review_attachment", { case: caseId, attachment }),
  pendingImages: (caseId: string) => invoke<PendingImage[]>("pending_images", { case: caseId }),
  deidReport: (caseId: string) => invoke<CaseDeidReport | null>("deid_report", { case: caseId }),
  removeAttachment: (caseId: string, attachment: string) =>
    invoke<void>("remove_attachment", { case: caseId, attachment }),
  share: (caseId: string, circle: string) => invoke<void>("share", { case: caseId, circle }),
  comment: (caseId: string, body: string, replyTo: string | null = null) =>
    invoke<string>("comment", { case: caseId, body, replyTo }),
  openPoll: (caseId: string, options: string[]) => invoke<string>("open_poll", { case: caseId, options }),
  vote: (caseId: string, option: string) => invoke<PollView>("vote", { case: caseId, option }),
  caseNames: (caseId: string) => invoke<string[]>("case_names", { case: caseId }),
  setCaseNames: (caseId: string, names: string[]) => invoke<void>("set_case_names", { case: caseId, names }),
  scanCase: (caseId: string, pending: string[] = []) =>
    invoke<TextFinding[]>("scan_case", { case: caseId, pending }),
  acknowledge: (caseId: string, finding: { kind: FindingKind; text: string } | "all", pending: string[] = []) =>
    invoke<number>("acknowledge", {
      case: caseId,
      kind: finding === "all" ? null : finding.kind,
      text: finding === "all" ? null : finding.text,
      all: finding === "all",
      pending,
    }),

  circles: () => invoke<CircleInfo[]>("circles"),
  createCircle: (name: string) => invoke<CircleInfo>("create_circle", { name }),
  invite: (circle: string) => invoke<string>("invite", { circle }),
  join: (code: string) => invoke<JoinSent>("join", { code }),
  joinRequests: (circle: string) => invoke<JoinRequestInfo[]>("join_requests", { circle }),
  approve: (circle: string, request: number) => invoke<void>("approve", { circle, request }),
  decline: (circle: string, request: number) => invoke<void>("decline", { circle, request }),
  members: (circle: string) => invoke<MemberInfo[]>("members", { circle }),
  verifyMember: (circle: string, member: string, safetyNumber: string) =>
    invoke<MemberInfo>("verify_member", { circle, member, safetyNumber }),
  removeMember: (circle: string, member: string) => invoke<MemberInfo>("remove_member", { circle, member }),
  leave: (circle: string) => invoke<void>("leave", { circle }),
  rotateKeys: (circle: string) => invoke<void>("rotate_keys", { circle }),
  syncNow: () => invoke<void>("sync_now"),
};

export type EngineEvent =
  | { event: "case_received"; circle: string; case: string }
  | { event: "case_updated"; circle: string; case: string }
  | { event: "case_retracted"; circle: string; case: string }
  | { event: "comment_received"; circle: string; case: string; comment: string }
  | { event: "poll_changed"; circle: string; case: string }
  | { event: "attachment_stored"; case: string; attachment: string }
  | { event: "members_changed"; circle: string; added: string[]; removed: string[] }
  | { event: "join_requested"; circle: string; request: number; name: string }
  | { event: "joined"; circle: string; name: string }
  | { event: "removed_from_circle"; circle: string }
  | { event: "message_rejected"; circle: string; seq: number; reason: string }
  | { event: "attachment_rejected"; case: string; attachment: string; reason: string };

export interface SyncState {
  offline: string | null;
  queued: number;
  failed: string[];
  error: PublicError | null;
  events: EngineEvent[];
}

export interface Progress {
  done: number;
  total: number;
}

export interface Transfer extends Progress {
  direction: "upload" | "download";
  bytes: number;
}

export const events = {
  sync: (f: (s: SyncState) => void): Promise<UnlistenFn> => listen<SyncState>("sync", (e) => f(e.payload)),
  transfer: (f: (t: Transfer) => void): Promise<UnlistenFn> => listen<Transfer>("transfer", (e) => f(e.payload)),
  import: (f: (p: Progress) => void): Promise<UnlistenFn> => listen<Progress>("import", (e) => f(e.payload)),
  locked: (f: () => void): Promise<UnlistenFn> => listen("locked", () => f()),
};

/** A circle's hex id as the byte array a `CaseFilter` carries. */
export function circleBytes(hex: string): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < hex.length; i += 2) out.push(parseInt(hex.slice(i, i + 2), 16));
  return out;
}
