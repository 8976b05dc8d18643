import { describe, expect, it } from "vitest";
import type { DeidReport } from "./api";
import { imagingLine, reportLines } from "./report";

const none: DeidReport = {
  source_format: "JPEG", exif_fields: 0, gps: false, camera_model: false, camera_serial: false, timestamps: false,
  embedded_thumbnail: false, xmp: false, iptc: false, icc_profile: false, maker_note: false,
  orientation_applied: null, frames_dropped: false, redactions: 0, output_format: "JPEG",
  proposals: [], proposals_accepted: 0, proposals_dismissed: 0, dicom: null, reviewed: false,
};

describe("de-identification report", () => {
  it("says so when nothing was found", () => {
    expect(reportLines(none)).toEqual(["No metadata found"]);
  });

  it("names what a camera photo carried and the redactions", () => {
    const lines = reportLines({ ...none, exif_fields: 42, gps: true, camera_serial: true, xmp: true, orientation_applied: 6, redactions: 2 });
    expect(lines[0]).toBe("Removed 42 EXIF fields including GPS position, camera serial number");
    expect(lines).toContain("Removed XMP metadata");
    expect(lines).toContain("2 redactions burned in");
    expect(lines).not.toContain("No metadata found");
  });

  it("names what a DICOM file lost and kept, and the faces and decisions", () => {
    const dicom = {
      modality: "CT", body_part: "CHEST", frames: 30, frame: 9, attributes_dropped: 266,
      identifying_dropped: ["patient name", "institution"], burned_in_risk: null,
    };
    const lines = reportLines({ ...none, source_format: "DICOM", dicom, proposals: [{ kind: "face", x: 1, y: 2, w: 3, h: 4 }], reviewed: true });
    expect(lines).toContain("Removed all 266 DICOM attributes including patient name, institution");
    expect(lines).toContain("Kept only modality CT and body part CHEST");
    expect(lines).toContain("Frame 10 of 30");
    expect(lines).toContain("1 face found: proposed for redaction");
    expect(lines).toContain("Reviewed by you");
    expect(imagingLine({ ...none, dicom })).toBe("CT, body part CHEST");
    expect(imagingLine({ ...none, dicom: { ...dicom, body_part: null } })).toBe("CT");
    expect(imagingLine(none)).toBeNull();
  });
});
