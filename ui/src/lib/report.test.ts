import { describe, expect, it } from "vitest";
import type { DeidReport } from "./api";
import { reportLines } from "./report";

const none: DeidReport = {
  source_format: "JPEG", exif_fields: 0, gps: false, camera_model: false, camera_serial: false, timestamps: false,
  embedded_thumbnail: false, xmp: false, iptc: false, icc_profile: false, maker_note: false,
  orientation_applied: null, frames_dropped: false, redactions: 0, output_format: "JPEG",
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
});
