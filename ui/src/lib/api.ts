// The window's boundary. `bindings.ts` is generated from the Rust commands, types and events
// (src-tauri/src/bindings.rs; the test command fails while it is stale): never edit it. This
// module gives the components the names they use: results are the types as Rust serializes
// them (`…_Serialize`), arguments as Rust reads them (`…_Deserialize`, where defaults make
// fields optional); the two commands that send an image's raw bytes are written here, since
// the generated signatures leave a raw body out.
import { invoke } from "@tauri-apps/api/core";
import type { UnlistenFn } from "@tauri-apps/api/event";
import { commands, events as typedEvents } from "./bindings";
import type * as b from "./bindings";

export type ErrorCode = b.ErrorCode;
export type PublicError = b.PublicError;
export type Theme = b.Theme;
export type Language = b.Language;
export type Settings = b.Settings_Serialize;
export type ProfileStatus = b.ProfileStatus_Serialize;
export type Identity = b.IdentityInfo;
export type Status = b.Status;
export type Urgency = b.Urgency;
export type Sex = b.Sex;
export type QuestionKind = b.QuestionKind;
export type CaseSummary = b.CaseSummary_Serialize;
export type RetractedCase = b.RetractedCase_Serialize;
export type CaseFilter = b.CaseFilter_Deserialize;
export type CaseFields = b.CaseFields_Serialize;
export type DeidReport = b.DeidReport_Serialize;
export type Proposal = b.Proposal;
export type BurnedInRisk = b.BurnedInRisk;
export type DicomReport = b.DicomReport_Serialize;
export type PendingImage = b.PendingImage;
export type Resolution = b.Resolution;
export type CaseDeidReport = b.CaseDeidReport_Serialize;
export type Attachment = b.Attachment_Serialize;
export type Comment = b.Comment_Serialize;
export type Case = b.Case_Serialize;
export type PollView = b.PollView_Serialize;
export type CaseView = b.CaseView_Serialize;
export type SidebarEntry = b.SidebarEntry;
export type SearchHit = b.SearchHit;
export type CircleInfo = b.CircleInfo;
export type Verification = b.Verification;
export type MemberInfo = b.MemberInfo;
export type JoinRequestInfo = b.JoinRequestInfo;
export type JoinSent = b.JoinSent;
export type Rect = b.Rect;
export type Rendition = b.Rendition;
export type FindingKind = b.FindingKind;
export type TextFinding = b.TextFinding;
export type EngineEvent = b.Event;
export type SyncState = b.SyncState_Serialize;
export type Progress = b.ImportProgress;
export type Transfer = b.Transfer;
export type BackupStatus = b.BackupStatus;
export type BackupOutcome = b.BackupOutcome_Serialize;
export type RestoreOutcome = b.RestoreOutcome;

export const api = {
  ...commands,
  listCases: (filter: CaseFilter = {}) => commands.listCases(filter),
  comment: (caseId: string, body: string, replyTo: string | null = null) =>
    commands.comment(caseId, body, replyTo),
  scanCase: (caseId: string, pending: string[] = []) => commands.scanCase(caseId, pending),
  acknowledge: (caseId: string, finding: { kind: FindingKind; text: string } | "all", pending: string[] = []) =>
    finding === "all"
      ? commands.acknowledge(caseId, null, null, true, pending)
      : commands.acknowledge(caseId, finding.kind, finding.text, false, pending),
  /** One image's bytes (a file picked in the window); the case id travels as a header. */
  attachImage: (caseId: string, bytes: Uint8Array) =>
    invoke<Attachment>("attach_image", bytes, { headers: { case: caseId } }),
  /** Another frame of a multi-frame DICOM file, its bytes given again. */
  chooseFrame: (caseId: string, attachment: string, bytes: Uint8Array, frame: number) =>
    invoke<Attachment>("choose_frame", bytes, {
      headers: { case: caseId, attachment, frame: String(frame) },
    }),
};

export const events = {
  sync: (f: (s: SyncState) => void): Promise<UnlistenFn> => typedEvents.sync.listen((e) => f(e.payload)),
  transfer: (f: (t: Transfer) => void): Promise<UnlistenFn> => typedEvents.transfer.listen((e) => f(e.payload)),
  import: (f: (p: Progress) => void): Promise<UnlistenFn> => typedEvents.import.listen((e) => f(e.payload)),
  locked: (f: () => void): Promise<UnlistenFn> => typedEvents.locked.listen(() => f()),
};
