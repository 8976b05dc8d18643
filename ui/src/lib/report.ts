// The de-identification report of an image, in the words a physician reads.
import type { DeidReport, Resolution } from "./api";

export function reportLines(r: DeidReport): string[] {
  const lines: string[] = [];
  if (r.exif_fields > 0) {
    const incl = [
      r.gps && "GPS position",
      r.camera_model && "camera make and model",
      r.camera_serial && "camera serial number",
      r.timestamps && "date and time",
      r.maker_note && "maker notes",
    ].filter(Boolean);
    lines.push(`Removed ${r.exif_fields} EXIF field${r.exif_fields === 1 ? "" : "s"}${incl.length ? ` including ${incl.join(", ")}` : ""}`);
  }
  if (r.embedded_thumbnail) lines.push("Removed an embedded thumbnail");
  if (r.xmp) lines.push("Removed XMP metadata");
  if (r.iptc) lines.push("Removed IPTC metadata");
  if (r.icc_profile) lines.push("Removed the ICC colour profile");
  if (r.dicom) {
    const d = r.dicom;
    lines.push(`Removed all ${d.attributes_dropped} DICOM attributes${d.identifying_dropped.length ? ` including ${d.identifying_dropped.join(", ")}` : ""}`);
    const kept = [d.modality && `modality ${d.modality}`, d.body_part && `body part ${d.body_part}`].filter(Boolean);
    if (kept.length) lines.push(`Kept only ${kept.join(" and ")}`);
    if (d.frames > 1) lines.push(`Frame ${d.frame + 1} of ${d.frames}`);
  }
  if (r.frames_dropped) lines.push("Kept only the first frame");
  if (r.orientation_applied) lines.push("Turned upright (orientation applied to the pixels)");
  if (r.redactions > 0) lines.push(`${r.redactions} redaction${r.redactions === 1 ? "" : "s"} burned in`);
  if (r.proposals.length) lines.push(`${r.proposals.length} face${r.proposals.length === 1 ? "" : "s"} found: proposed for redaction`);
  if (r.proposals_accepted) lines.push(`${r.proposals_accepted} proposed face redaction${r.proposals_accepted === 1 ? "" : "s"} accepted`);
  if (r.proposals_dismissed) lines.push(`${r.proposals_dismissed} proposal${r.proposals_dismissed === 1 ? "" : "s"} dismissed by you`);
  if (r.reviewed) lines.push("Reviewed by you");
  if (lines.length === 0) lines.push("No metadata found");
  return lines;
}

/** The text a physician copies into the case from a DICOM image: "CT, body part CHEST". */
export function imagingLine(r: DeidReport): string | null {
  const d = r.dicom;
  if (!d || !d.modality) return null;
  return d.body_part ? `${d.modality}, body part ${d.body_part}` : d.modality;
}

export const resolutionWords: Record<Resolution, string> = {
  open: "open: edit it out or mark it not an identifier",
  acknowledged: "acknowledged as not an identifier",
  edited_out: "edited out",
};
