// The de-identification report of an image, in the words a physician reads.
import type { DeidReport } from "./api";

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
  if (r.frames_dropped) lines.push("Kept only the first frame");
  if (r.orientation_applied) lines.push("Turned upright (orientation applied to the pixels)");
  if (r.redactions > 0) lines.push(`${r.redactions} redaction${r.redactions === 1 ? "" : "s"} burned in`);
  if (lines.length === 0) lines.push("No metadata found");
  return lines;
}
