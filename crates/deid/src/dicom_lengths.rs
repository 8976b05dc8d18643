//! A walk over a Part 10 file's element headers before the DICOM reader sees it. The reader
//! allocates (and zero-fills) each value at the length its header declares before reading it,
//! so a 200 KB file whose one length field says 4 GB would make an import take seconds and touch
//! gigabytes. Every defined length must fit in the bytes that follow it; the walk descends into
//! sequences (of defined length too, known as such in implicit VR from the dictionary the reader
//! uses) and items, and steps over encapsulated pixel fragments, reading nothing else.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

use crate::error::{DeidError, Result};

const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const UNDEFINED: u32 = 0xFFFF_FFFF;
/// Explicit VRs whose length takes 2 bytes (PS3.5 7.1.2). Every other VR, and any two bytes
/// that are not a VR (which the reader takes for UN), has 2 reserved bytes and a 4-byte length.
const SHORT_VRS: &[&[u8; 2]] = &[
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN",
    b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US",
];

#[derive(Clone, Copy)]
struct Encoding {
    explicit: bool,
    big_endian: bool,
}

/// Checks the declared lengths of `bytes` (a whole Part 10 file: preamble, `DICM`, meta group in
/// explicit VR little endian, then the data set in the encoding the meta group names). A data
/// set compressed with deflate is left to the reader.
pub(crate) fn check(bytes: &[u8]) -> Result<()> {
    let meta = Encoding {
        explicit: true,
        big_endian: false,
    };
    let mut at = 132;
    // The meta group, as the reader reads it: after its group length (0002,0000), every element
    // within that many bytes, whatever its group; without one, the elements of group 0002.
    let mut meta_end = None;
    if let Ok(((0x0002, 0x0000), 4, header)) = header(bytes, at, meta) {
        let value_at = at + header;
        let end = fits(bytes, value_at, 4)?;
        let group_length = read32(bytes, value_at, false);
        meta_end = Some(end.saturating_add(group_length as usize));
        at = end;
    }
    let in_meta = |at: usize| match meta_end {
        Some(end) => at < end,
        None => bytes.get(at..at + 2) == Some(&[0x02, 0x00]),
    };
    let mut syntax = String::new();
    while in_meta(at) {
        let (tag, len, header) = header(bytes, at, meta)?;
        let value_at = at + header;
        let end = fits(bytes, value_at, len)?;
        if tag == (0x0002, 0x0010) {
            syntax = String::from_utf8_lossy(&bytes[value_at..end])
                // As the reader trims it: any whitespace, not only spaces.
                .trim_end_matches(|c: char| c.is_whitespace() || c == '\0')
                .to_string();
        }
        at = end;
    }
    let data = match syntax.as_str() {
        "1.2.840.10008.1.2" => Encoding {
            explicit: false,
            big_endian: false,
        },
        "1.2.840.10008.1.2.2" => Encoding {
            explicit: true,
            big_endian: true,
        },
        s if s.ends_with(".99") || s == "1.2.840.10008.1.2.1.99" => return Ok(()),
        _ => Encoding {
            explicit: true,
            big_endian: false,
        },
    };
    walk(bytes, at, data)
}

fn walk(bytes: &[u8], mut at: usize, enc: Encoding) -> Result<()> {
    // Within encapsulated pixel data, items hold fragment bytes, not elements.
    let mut in_fragments = false;
    while at + 8 <= bytes.len() {
        let group = read16(bytes, at, enc.big_endian);
        if group == 0xFFFE {
            // Group FFFE: always a 4-byte length, no VR. An item's content is walked in place
            // (or, in encapsulated pixel data, stepped over); any other element of the group,
            // delimiters included, is a value the reader reads, so its length must fit too.
            let element = read16(bytes, at + 2, enc.big_endian);
            let len = read32(bytes, at + 4, enc.big_endian);
            at += 8;
            if element == 0xE0DD {
                in_fragments = false;
            }
            if len == UNDEFINED {
                continue;
            }
            if (group, element) == ITEM && !in_fragments {
                fits(bytes, at, len)?;
            } else {
                at = fits(bytes, at, len)?;
            }
            continue;
        }
        let (tag, len, header) = header(bytes, at, enc)?;
        at += header;
        if len == UNDEFINED {
            // A sequence or encapsulated pixel data: its content follows, walked in place.
            in_fragments = tag == (0x7FE0, 0x0010);
            continue;
        }
        let end = fits(bytes, at, len)?;
        let vr = vr_of(bytes, at - header, tag, enc);
        // The reader descends into a sequence of defined length too (its items are elements
        // it reads one by one), so the walk does, in place; anything else is stepped over.
        if vr == VR::SQ {
            continue;
        }
        // A binary value is read as whole numbers, so a length that is not a multiple of one
        // leaves bytes the reader counts as read but never consumes: from there it reads
        // elsewhere than the walk did. Such a file is damaged anyway.
        let width = width_of(vr);
        if !(len as usize).is_multiple_of(width) {
            return Err(DeidError::Dicom(format!(
                "the DICOM file is damaged: the value at byte {at} holds numbers of {width} bytes but has {len} bytes"
            )));
        }
        at = end;
    }
    Ok(())
}

/// The VR the reader gives the element whose header is at `at`: the one written in an explicit
/// encoding (UN when those bytes are none), the standard dictionary's in implicit VR (as the
/// reader looks it up).
fn vr_of(bytes: &[u8], at: usize, tag: (u16, u16), enc: Encoding) -> VR {
    if enc.explicit {
        return match bytes.get(at + 4..at + 6) {
            Some(&[a, b]) => VR::from_binary([a, b]).unwrap_or(VR::UN),
            _ => VR::UN,
        };
    }
    // Pixel and overlay data are OW in implicit VR whatever the dictionary says.
    if tag == (0x7FE0, 0x0010) || (tag.0 >> 8 == 0x60 && tag.1 == 0x3000) {
        return VR::OW;
    }
    StandardDataDictionary
        .by_tag(Tag(tag.0, tag.1))
        .map_or(VR::UN, |entry| entry.vr().relaxed())
}

/// The size of one number in a binary value of `vr` (1 for text and bytes).
fn width_of(vr: VR) -> usize {
    match vr {
        VR::US | VR::SS | VR::OW => 2,
        VR::UL | VR::SL | VR::OL | VR::FL | VR::OF | VR::AT => 4,
        VR::FD | VR::OD | VR::SV | VR::UV | VR::OV => 8,
        _ => 1,
    }
}

/// The tag, the declared length and the header's size of the element at `at`.
fn header(bytes: &[u8], at: usize, enc: Encoding) -> Result<((u16, u16), u32, usize)> {
    let short = || truncated(at);
    let head = bytes.get(at..at + 8).ok_or_else(short)?;
    let tag = (
        read16(head, 0, enc.big_endian),
        read16(head, 2, enc.big_endian),
    );
    // Item and delimiter tags (group FFFE) carry no VR even in an explicit encoding: the reader
    // takes the 4 bytes after the tag as their length.
    if !enc.explicit || tag.0 == 0xFFFE {
        return Ok((tag, read32(head, 4, enc.big_endian), 8));
    }
    let vr = [head[4], head[5]];
    if SHORT_VRS.iter().any(|v| **v == vr) {
        Ok((tag, u32::from(read16(head, 6, enc.big_endian)), 8))
    } else {
        let len = bytes.get(at + 8..at + 12).ok_or_else(short)?;
        Ok((tag, read32(len, 0, enc.big_endian), 12))
    }
}

/// The end of a value of `len` bytes starting at `at`, if the file holds it.
fn fits(bytes: &[u8], at: usize, len: u32) -> Result<usize> {
    let end = at.checked_add(len as usize).ok_or_else(|| truncated(at))?;
    if end > bytes.len() {
        return Err(DeidError::Dicom(format!(
            "the DICOM file is damaged or truncated: a value at byte {at} claims {len} bytes, the file has {} left",
            bytes.len().saturating_sub(at)
        )));
    }
    Ok(end)
}

fn truncated(at: usize) -> DeidError {
    DeidError::Dicom(format!(
        "the DICOM file is truncated (an element header at byte {at} is cut off)"
    ))
}

fn read16(b: &[u8], at: usize, big: bool) -> u16 {
    let pair = [b[at], b[at + 1]];
    if big {
        u16::from_be_bytes(pair)
    } else {
        u16::from_le_bytes(pair)
    }
}

fn read32(b: &[u8], at: usize, big: bool) -> u32 {
    let quad = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if big {
        u32::from_be_bytes(quad)
    } else {
        u32::from_le_bytes(quad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fuzz finding (the bytes after `DICM`, in hex) must be refused with an error that says
    /// `words`.
    fn refused_saying(hex_after_dicm: &str, words: &str) {
        let mut f = vec![0u8; 128];
        f.extend_from_slice(b"DICM");
        f.extend_from_slice(&hex::decode(hex_after_dicm).unwrap());
        let err = check(&f).unwrap_err();
        assert!(err.to_string().contains(words), "{err}");
    }

    fn file(data: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 128];
        f.extend_from_slice(b"DICM");
        // (0002,0010) UI "1.2.840.10008.1.2.1" (explicit VR little endian), 20 bytes.
        f.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I', 20, 0]);
        f.extend_from_slice(b"1.2.840.10008.1.2.1\0");
        f.extend_from_slice(data);
        f
    }

    #[test]
    fn lengths_that_fit_pass_and_a_huge_one_is_refused_before_any_allocation() {
        // (0010,0010) PN "DOE^J" padded to 6.
        let ok = file(&[
            0x10, 0x00, 0x10, 0x00, b'P', b'N', 6, 0, b'D', b'O', b'E', b'^', b'J', b' ',
        ]);
        assert!(check(&ok).is_ok());
        // (7FE0,0010) OB with a 4 GB - 2 length in a tiny file.
        let huge = file(&[
            0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFE, 0xFF, 0xFF, 0xFF,
        ]);
        let err = check(&huge).unwrap_err();
        assert!(err.to_string().contains("claims 4294967294 bytes"), "{err}");
        // A header cut in the middle.
        assert!(check(&file(&[0x10, 0x00, 0x10, 0x00, b'O', b'B', 0, 0, 1])).is_err());
    }

    /// Found by the `dicom_import` fuzz target (143 bytes after `DICM`): a group length
    /// element whose VR bytes are not a VR (the reader takes them for UN, with a 4-byte length),
    /// then within the announced group an element claiming 4 GB. The walk must read the meta
    /// group as the reader does, or the reader allocates the 4 GB.
    #[test]
    fn the_meta_group_is_walked_as_the_reader_reads_it() {
        refused_saying(
            concat!(
                "0200000000000000040000000a16000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "000000000200100055000000000000fefffffefff553a7000000000000000000",
                "000000000000000000000000000000",
            ),
            "claims",
        );
    }

    /// Found by the same target in its second run: within the meta group, an element of group
    /// FFFE, which the reader reads without a VR (its length right after the tag), hiding an
    /// element that claims 4 GB.
    #[test]
    fn an_item_tag_in_the_meta_group_has_no_vr_as_for_the_reader() {
        refused_saying(
            concat!(
                "0200000000002800040000008300000000000000554c09002000202000000000",
                "00feff0000040000008300000000000000464c000000000000464c0000000009",
                "00464c000000000000464c000000000000464c00000000000000000000040000",
                "00160000000200100002000900a50000ffffffffffffffff0000200000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000000000000000001000000ff000000",
            ),
            "claims",
        );
    }

    /// Found by the same target in its third run: a data set in explicit VR big endian whose
    /// first element claims 4 GB.
    #[test]
    fn a_big_endian_data_set_is_walked_too() {
        refused_saying(
            concat!(
                "02000000000000000400000016000000020010005d4c090120000000312e322e",
                "3834302e31303030382e312e322e3200000000000000000000000000fffeffff",
                "ffffffcbffffff000000fffeffffffffffffffffffffffffffffffffff000000",
                "000000000000000000400000000000000000000000000000bd00000000000000",
                "0000000000000000000000008f0000",
            ),
            "claims",
        );
    }

    /// A sequence of defined length is read item by item: an element in it that claims 4 GB is
    /// caught, where stepping over the sequence as a whole let it through.
    #[test]
    fn a_sequence_of_defined_length_is_walked_into_as_the_reader_does() {
        let sequence = |inner_len: [u8; 4]| {
            let mut d = vec![0x08, 0x00, 0x40, 0x11, b'S', b'Q', 0, 0, 20, 0, 0, 0];
            d.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 12, 0, 0, 0]);
            d.extend_from_slice(&[0x09, 0x00, 0x10, 0x00, b'O', b'B', 0, 0]);
            d.extend_from_slice(&inner_len);
            file(&d)
        };
        assert!(check(&sequence([0, 0, 0, 0])).is_ok());
        let err = check(&sequence([0xF0, 0xFF, 0xFF, 0xFF])).unwrap_err();
        assert!(err.to_string().contains("claims 4294967280 bytes"), "{err}");
    }

    /// Found by the same target in its fourth run: in implicit VR, a group length (UL by the
    /// dictionary) of 6 bytes. The reader reads one number, counts 6 bytes read and goes on 2
    /// bytes early, into an element the walk never saw that claims 4 GB.
    #[test]
    fn a_binary_value_whose_length_splits_a_number_is_refused() {
        refused_saying(
            concat!(
                "0200000000000000040000001600000002001000dd4c09012f000000312e322e",
                "3834302e31303030382e312e3200000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "000000ff0700000000000000000000060000002e000000000000000000000000",
                "000000000000000000000000000000000000000000000000000055b5ffffff04",
            ),
            "has 6 bytes",
        );
    }

    /// Found by the same target in its fifth run: a transfer syntax UID padded with NULs and a
    /// tab. The reader trims any whitespace and reads the data set in implicit VR; the walk
    /// trimmed only spaces and NULs, took it for explicit VR and never saw a UL claiming 4 GB.
    #[test]
    fn the_transfer_syntax_is_trimmed_as_the_reader_trims_it() {
        refused_saying(
            concat!(
                "020000000000534c040000001600000002001000dd4c09012f000000312e322e",
                "3834302e31303030382e312e3200000000000009000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000800000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "00000000000000feffffff000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000000000000400000000000000000000000000000000800000000000000",
                "000000000000000000000000000000000000000000000004",
            ),
            "claims",
        );
    }
}
