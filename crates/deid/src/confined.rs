//! The DICOM reader, and libheif for HEIC photos, run in a child process of its own
//! (`consilium-decoder`), with an
//! address-space and a CPU-time limit, so a hostile file costs at most what the limits allow and
//! never the app. The reader allocates each value at the length its header declares before
//! reading it; the length walk (`dicom_lengths`) refuses what it can see, but it mirrors a
//! parser it does not own, and fuzzing kept finding files it reads differently. The limits bound
//! whatever the walk misses: an allocation past them fails (the reader then reports an error),
//! and a child that still dies or hangs is an import that failed, in words.
//!
//! The parent sends one request on the child's stdin and reads one answer from its stdout, both
//! CBOR, the answer bounded by the pixels the limits allow; it waits a bounded time.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use consilium_model::DicomReport;
use image::{DynamicImage, GrayImage, RgbImage};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use wait_timeout::ChildExt;

use crate::dicom::DicomFrame;
use crate::error::{DeidError, Result};
use crate::heif::HeifFrame;
use crate::limits::ImportLimits;

/// Changes whenever the request or the answer changes: a decoder left from another build is
/// refused rather than misread.
const PROTOCOL: u32 = 2;
/// The decoder program, found beside the running program (or one folder up, for test programs
/// in `target/*/deps`), or named by `CONSILIUM_DECODER`.
const PROGRAM: &str = "consilium-decoder";
/// Wall-clock time a decode may take, beyond its CPU-time limit (a child blocked on nothing).
const WAIT: Duration = Duration::from_secs(120);
/// CPU seconds a decode may use.
const CPU_SECONDS: u64 = 60;
/// What the child needs besides the input and the decode buffers: code, stacks, the reader's
/// own tables.
const BASE_ADDRESS_SPACE: u64 = 512 << 20;

#[derive(Serialize, Deserialize)]
struct Request {
    protocol: u32,
    /// A HEIF file (else DICOM).
    heif: bool,
    frame: Option<u32>,
    max_input_bytes: u64,
    max_side: u32,
    max_pixels: u64,
    max_alloc: u64,
    bytes: ByteBuf,
}

#[derive(Serialize, Deserialize)]
struct Answer {
    protocol: u32,
    outcome: Outcome,
}

#[derive(Serialize, Deserialize)]
enum Outcome {
    Frame {
        width: u32,
        height: u32,
        /// One byte a pixel (grey) or three (RGB).
        grey: bool,
        pixels: ByteBuf,
        report: DicomReport,
    },
    Heif {
        width: u32,
        height: u32,
        pixels: ByteBuf,
        exif: Option<ByteBuf>,
        xmp: bool,
        icc: bool,
    },
    Dicom(String),
    TooLarge {
        max_side: u32,
        max_pixels: u64,
        detail: String,
    },
    NotDicomPart10,
}

/// The most address space the decoder may map for `limits`: the input (held twice, as read and
/// as parsed), two decode buffers, and the base.
pub fn address_space_limit(limits: &ImportLimits) -> u64 {
    BASE_ADDRESS_SPACE
        .saturating_add(limits.max_input_bytes.saturating_mul(2))
        .saturating_add(limits.max_alloc.saturating_mul(3))
}

/// Sends one request to the decoder process and reads its answer's outcome.
fn ask(bytes: &[u8], heif: bool, frame: Option<u32>, limits: &ImportLimits) -> Result<Outcome> {
    let encoded = request(bytes, heif, frame, limits).map_err(|e| failed(&e))?;
    let answer = run(&program()?, &encoded, answer_limit(limits))?;
    let answer: Answer = ciborium::from_reader(&answer[..])
        .map_err(|e| failed(&format!("its answer could not be read: {e}")))?;
    if answer.protocol != PROTOCOL {
        return Err(mismatch());
    }
    Ok(answer.outcome)
}

/// The pixels of an answer, only if they are exactly `width` × `height` pixels of `channels`
/// bytes and within `limits`: an answer is not trusted further than the image crate, whose
/// buffers accept more bytes than the size and whose encoders then assert on them.
fn answered_pixels(
    width: u32,
    height: u32,
    grey: bool,
    pixels: Vec<u8>,
    limits: &ImportLimits,
) -> Result<DynamicImage> {
    let channels: u64 = if grey { 1 } else { 3 };
    let count = u64::from(width) * u64::from(height);
    let fits = width > 0
        && height > 0
        && width <= limits.max_side
        && height <= limits.max_side
        && count <= limits.max_pixels
        && pixels.len() as u64 == count * channels;
    if !fits {
        return Err(failed("its answer has the wrong number of pixels"));
    }
    let image = if grey {
        GrayImage::from_raw(width, height, pixels).map(DynamicImage::ImageLuma8)
    } else {
        RgbImage::from_raw(width, height, pixels).map(DynamicImage::ImageRgb8)
    };
    image.ok_or_else(|| failed("its answer has the wrong number of pixels"))
}

/// Renders `frame` of a DICOM Part 10 file in the decoder process.
pub(crate) fn render(
    bytes: &[u8],
    frame: Option<u32>,
    limits: &ImportLimits,
) -> Result<DicomFrame> {
    if !crate::dicom::is_part10(bytes) {
        return Err(DeidError::NotDicomPart10);
    }
    match ask(bytes, false, frame, limits)? {
        Outcome::Frame {
            width,
            height,
            grey,
            pixels,
            report,
        } => Ok(DicomFrame {
            pixels: answered_pixels(width, height, grey, pixels.into_vec(), limits)?,
            report,
        }),
        Outcome::Heif { .. } => Err(failed("it answered with another kind of image")),
        Outcome::Dicom(why) => Err(DeidError::Dicom(why)),
        Outcome::TooLarge {
            max_side,
            max_pixels,
            detail,
        } => Err(DeidError::TooLarge {
            max_side,
            max_pixels,
            detail,
        }),
        Outcome::NotDicomPart10 => Err(DeidError::NotDicomPart10),
    }
}

/// Decodes a HEIF file's primary image in the decoder process.
pub(crate) fn render_heif(bytes: &[u8], limits: &ImportLimits) -> Result<HeifFrame> {
    let unreadable = heif_unreadable;
    match ask(bytes, true, None, limits).map_err(unreadable)? {
        Outcome::Heif {
            width,
            height,
            pixels,
            exif,
            xmp,
            icc,
        } => Ok(HeifFrame {
            pixels: answered_pixels(width, height, false, pixels.into_vec(), limits)
                .map_err(unreadable)?
                .to_rgb8(),
            exif: exif.map(ByteBuf::into_vec),
            xmp,
            icc,
        }),
        Outcome::TooLarge {
            max_side,
            max_pixels,
            detail,
        } => Err(DeidError::TooLarge {
            max_side,
            max_pixels,
            detail,
        }),
        Outcome::Dicom(why) => Err(DeidError::Corrupt(why)),
        Outcome::Frame { .. } | Outcome::NotDicomPart10 => {
            Err(unreadable(failed("it answered with another kind of image")))
        }
    }
}

/// A HEIF decode's failure as the physician is told it: the reader's failures are the image's
/// (a damaged or hostile photo); a reader that cannot run stays the installation's fault.
fn heif_unreadable(e: DeidError) -> DeidError {
    match e {
        DeidError::Dicom(why) => DeidError::Corrupt(why.replace("DICOM reader", "image reader")),
        other => other,
    }
}

/// The decoder process's encoded answer to an encoded `request` (see [`request`]), bounded as
/// an import bounds it: what [`answer`] gives in this process, plus the process. For the
/// benchmark that measures what the process costs.
pub fn answer_from_process(request: &[u8], limits: &ImportLimits) -> Result<Vec<u8>> {
    run(&program()?, request, answer_limit(limits))
}

fn answer_limit(limits: &ImportLimits) -> u64 {
    // At most three bytes a pixel, and the report.
    limits.max_pixels.saturating_mul(3).saturating_add(1 << 20)
}

/// Runs the decoder `program` on `request`; its stdout, if it ended well and within
/// `answer_limit` bytes.
fn run(program: &Path, request: &[u8], answer_limit: u64) -> Result<Vec<u8>> {
    let mut child = Command::new(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| DeidError::ReaderUnavailable(format!("it could not start: {e}")))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| failed("it has no output"))?;
    // Read while writing: a child that answers (or dies) before reading everything must not
    // leave the parent blocked on a full pipe.
    let reader = std::thread::spawn(move || {
        let mut answer = Vec::new();
        let read = (&mut stdout)
            .take(answer_limit.saturating_add(1))
            .read_to_end(&mut answer);
        read.map(|_| answer)
    });
    if let Some(mut stdin) = child.stdin.take() {
        // A child that died early closes its end: what it says (or not) below tells why.
        let _ = stdin.write_all(request);
    }
    let status = match child.wait_timeout(WAIT) {
        Ok(Some(status)) => status,
        Ok(None) | Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            let _ = reader.join();
            return Err(DeidError::Dicom(format!(
                "the DICOM reader took more than {} seconds on this file and was stopped",
                WAIT.as_secs()
            )));
        }
    };
    let answer = reader
        .join()
        .map_err(|_| failed("its output could not be read"))?
        .map_err(|e| failed(&format!("its output could not be read: {e}")))?;
    if answer.len() as u64 > answer_limit {
        return Err(failed("its answer is larger than the image can be"));
    }
    if !status.success() {
        return Err(DeidError::Dicom(
            "the DICOM reader could not read this file within its memory and time limits (the file may be damaged or built to exhaust the reader)"
                .into(),
        ));
    }
    Ok(answer)
}

fn program() -> Result<PathBuf> {
    if let Some(named) = std::env::var_os("CONSILIUM_DECODER") {
        return Ok(PathBuf::from(named));
    }
    let name = format!("{PROGRAM}{}", std::env::consts::EXE_SUFFIX);
    let exe = std::env::current_exe().map_err(|e| failed(&e.to_string()))?;
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join(&name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            DeidError::ReaderUnavailable(format!(
                "{name} is not installed beside {}",
                exe.display()
            ))
        })
}

fn failed(why: &str) -> DeidError {
    DeidError::Dicom(format!("the DICOM reader failed: {why}"))
}

fn mismatch() -> DeidError {
    DeidError::ReaderUnavailable(format!(
        "the {PROGRAM} beside the app is from another version"
    ))
}

/// One encoded request to the decoder: a DICOM file (its `frame`), or a HEIF file (`heif`).
pub fn request(
    bytes: &[u8],
    heif: bool,
    frame: Option<u32>,
    limits: &ImportLimits,
) -> std::result::Result<Vec<u8>, String> {
    let request = Request {
        protocol: PROTOCOL,
        heif,
        frame,
        max_input_bytes: limits.max_input_bytes,
        max_side: limits.max_side,
        max_pixels: limits.max_pixels,
        max_alloc: limits.max_alloc,
        bytes: ByteBuf::from(bytes.to_vec()),
    };
    let mut encoded = Vec::new();
    ciborium::into_writer(&request, &mut encoded).map_err(|e| e.to_string())?;
    Ok(encoded)
}

/// The decoder's side (`consilium-decoder`): reads one request, confines this process to the
/// limits it names (address space and CPU time), and answers it.
pub fn serve(input: &mut impl Read, output: &mut impl Write) -> std::io::Result<()> {
    // The request's limits are not known before it is read: bound the read by the largest input
    // any caller allows (the request's own bound is checked after).
    let most = ImportLimits::default()
        .max_input_bytes
        .saturating_add(1 << 20);
    let mut request = Vec::new();
    input.take(most).read_to_end(&mut request)?;
    let limits = ciborium::from_reader::<Request, _>(&request[..])
        .map(|r| limits_of(&r))
        .unwrap_or_default();
    confine_memory(&limits)?;
    rlimit::setrlimit(rlimit::Resource::CPU, CPU_SECONDS, CPU_SECONDS)?;
    // A decoder that dies holds a patient's image: it must leave no core dump behind.
    rlimit::setrlimit(rlimit::Resource::CORE, 0, 0)?;
    output.write_all(&answer(&request))?;
    output.flush()
}

/// Limits this process's address space to what decoding under `limits` may need: an
/// allocation past it fails, and the reader reports the failure as an error.
pub fn confine_memory(limits: &ImportLimits) -> std::io::Result<()> {
    let space = address_space_limit(limits);
    rlimit::setrlimit(rlimit::Resource::AS, space, space)
}

fn limits_of(r: &Request) -> ImportLimits {
    ImportLimits {
        max_input_bytes: r.max_input_bytes,
        max_side: r.max_side,
        max_pixels: r.max_pixels,
        max_alloc: r.max_alloc,
    }
}

/// The answer to one encoded request, decoded in this process (which the caller confined).
pub fn answer(request: &[u8]) -> Vec<u8> {
    let outcome = match ciborium::from_reader::<Request, _>(request) {
        Ok(r) if r.protocol != PROTOCOL => Outcome::Dicom(mismatch().to_string()),
        Ok(r) if r.heif => decode_heif(&r.bytes, &limits_of(&r)),
        Ok(r) => decode(&r.bytes, r.frame, &limits_of(&r)),
        Err(e) => {
            Outcome::Dicom(failed(&format!("its request could not be read: {e}")).to_string())
        }
    };
    let mut out = Vec::new();
    let encoded = ciborium::into_writer(
        &Answer {
            protocol: PROTOCOL,
            outcome,
        },
        &mut out,
    );
    if encoded.is_err() {
        out.clear();
    }
    out
}

fn decode_heif(bytes: &[u8], limits: &ImportLimits) -> Outcome {
    if bytes.len() as u64 > limits.max_input_bytes {
        return Outcome::Dicom(
            DeidError::InputTooLarge {
                bytes: bytes.len() as u64,
                limit: limits.max_input_bytes,
            }
            .to_string(),
        );
    }
    match crate::heif::decode_here(bytes, limits) {
        Ok(frame) => Outcome::Heif {
            width: frame.pixels.width(),
            height: frame.pixels.height(),
            pixels: ByteBuf::from(frame.pixels.into_raw()),
            exif: frame.exif.map(ByteBuf::from),
            xmp: frame.xmp,
            icc: frame.icc,
        },
        Err(DeidError::TooLarge {
            max_side,
            max_pixels,
            detail,
        }) => Outcome::TooLarge {
            max_side,
            max_pixels,
            detail,
        },
        Err(e) => Outcome::Dicom(e.to_string()),
    }
}

fn decode(bytes: &[u8], frame: Option<u32>, limits: &ImportLimits) -> Outcome {
    if bytes.len() as u64 > limits.max_input_bytes {
        return Outcome::Dicom(
            DeidError::InputTooLarge {
                bytes: bytes.len() as u64,
                limit: limits.max_input_bytes,
            }
            .to_string(),
        );
    }
    match crate::dicom::render_here(bytes, frame, limits) {
        Ok(DicomFrame { pixels, report }) => {
            let (width, height) = (pixels.width(), pixels.height());
            let (grey, pixels) = match pixels {
                DynamicImage::ImageLuma8(g) => (true, g.into_raw()),
                other => (false, other.to_rgb8().into_raw()),
            };
            Outcome::Frame {
                width,
                height,
                grey,
                pixels: ByteBuf::from(pixels),
                report,
            }
        }
        Err(DeidError::TooLarge {
            max_side,
            max_pixels,
            detail,
        }) => Outcome::TooLarge {
            max_side,
            max_pixels,
            detail,
        },
        Err(DeidError::NotDicomPart10) => Outcome::NotDicomPart10,
        Err(e) => Outcome::Dicom(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A decoder answer is held to its size: one byte too many (which the image crate's buffer
    /// takes, and its encoders then assert on) or a size past the limits is refused in words.
    #[test]
    fn an_answer_whose_pixels_do_not_match_its_size_is_refused() {
        let limits = ImportLimits::default();
        assert!(answered_pixels(2, 2, false, vec![0; 12], &limits).is_ok());
        assert!(answered_pixels(2, 2, true, vec![0; 4], &limits).is_ok());
        for (w, h, grey, len) in [
            (2, 2, false, 13),
            (2, 2, false, 11),
            (2, 2, true, 12),
            (0, 2, true, 0),
        ] {
            let err = answered_pixels(w, h, grey, vec![0; len], &limits).unwrap_err();
            assert!(err.to_string().contains("wrong number of pixels"), "{err}");
        }
        let wide = limits.max_side + 1;
        assert!(answered_pixels(wide, 1, true, vec![0; wide as usize], &limits).is_err());
    }

    /// A reader that is missing, cannot start or is from another version is the installation's
    /// fault: told so, never as a damaged photo (which would send a physician re-exporting a
    /// good one).
    #[test]
    fn a_reader_that_cannot_run_is_not_told_as_a_damaged_image() {
        let missing = run(Path::new("/nonexistent/consilium-decoder"), b"", 1 << 10).unwrap_err();
        assert!(
            matches!(missing, DeidError::ReaderUnavailable(_)),
            "{missing:?}"
        );
        assert!(matches!(
            heif_unreadable(missing),
            DeidError::ReaderUnavailable(_)
        ));
        assert!(matches!(
            heif_unreadable(mismatch()),
            DeidError::ReaderUnavailable(_)
        ));
        let damaged = heif_unreadable(failed("its answer could not be read"));
        assert!(matches!(damaged, DeidError::Corrupt(_)), "{damaged:?}");
    }
}
