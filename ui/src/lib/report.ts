// The de-identification report of an image, in the words a physician reads.
import type { DeidReport, Resolution } from "./api";
import { t, type MessageKey } from "./i18n.svelte";

/** What a dropped DICOM attribute was, in the engine's words ("patient name") or the language's. */
function dicomWords(what: string): string {
  const key = `dicom.${what.toLowerCase().replace(/ /g, "_")}` as MessageKey;
  const said = t(key);
  return said === key ? what : said;
}

export function reportLines(r: DeidReport): string[] {
  const lines: string[] = [];
  if (r.exif_fields > 0) {
    const incl = [
      r.gps && t("report.gps"),
      r.camera_model && t("report.camera_model"),
      r.camera_serial && t("report.camera_serial"),
      r.timestamps && t("report.timestamps"),
      r.maker_note && t("report.maker_note"),
    ].filter((x): x is string => !!x);
    lines.push(
      incl.length
        ? t("report.exif_including", { n: r.exif_fields, what: incl.join(", ") })
        : t("report.exif", { n: r.exif_fields }),
    );
  }
  if (r.embedded_thumbnail) lines.push(t("report.thumbnail"));
  if (r.xmp) lines.push(t("report.xmp"));
  if (r.iptc) lines.push(t("report.iptc"));
  if (r.icc_profile) lines.push(t("report.icc"));
  if (r.dicom) {
    const d = r.dicom;
    lines.push(
      d.identifying_dropped.length
        ? t("report.dicom_including", { n: d.attributes_dropped, what: d.identifying_dropped.map(dicomWords).join(", ") })
        : t("report.dicom", { n: d.attributes_dropped }),
    );
    const kept = [d.modality && t("report.modality", { modality: d.modality }), d.body_part && t("report.body_part", { part: d.body_part })].filter(
      (x): x is string => !!x,
    );
    if (kept.length === 2) lines.push(t("report.kept_two", { first: kept[0], second: kept[1] }));
    else if (kept.length === 1) lines.push(t("report.kept_one", { what: kept[0] }));
    if (d.frames > 1) lines.push(t("report.frame", { n: d.frame + 1, of: d.frames }));
  }
  if (r.frames_dropped) lines.push(t("report.first_frame"));
  if (r.orientation_applied) lines.push(t("report.orientation"));
  if (r.redactions > 0) lines.push(t("report.redactions", { n: r.redactions }));
  if (r.proposals.length) lines.push(t("report.faces_found", { n: r.proposals.length }));
  if (r.proposals_accepted) lines.push(t("report.proposals_accepted", { n: r.proposals_accepted }));
  if (r.proposals_dismissed) lines.push(t("report.proposals_dismissed", { n: r.proposals_dismissed }));
  if (r.reviewed) lines.push(t("report.reviewed"));
  if (lines.length === 0) lines.push(t("report.nothing"));
  return lines;
}

/** What of an image still waits for its author before it may be shared (as the engine decides). */
export function pendingReasons(r: DeidReport): string[] {
  const out: string[] = [];
  const faces = r.proposals.filter((p) => p.kind === "face").length;
  if (faces > 0) out.push(t("pending.faces", { n: faces }));
  const risk = r.dicom?.burned_in_risk;
  if (risk && !r.reviewed) out.push(t("pending.burned_in", { why: t(`risk.${risk}` as MessageKey) }));
  return out;
}

/** The text a physician copies into the case from a DICOM image: "CT, body part CHEST". */
export function imagingLine(r: DeidReport): string | null {
  const d = r.dicom;
  if (!d || !d.modality) return null;
  return d.body_part ? t("report.imaging_with_part", { modality: d.modality, part: d.body_part }) : d.modality;
}

export function resolutionWords(r: Resolution): string {
  return t(`resolution.${r}` as MessageKey);
}
