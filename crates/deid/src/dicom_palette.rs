//! PALETTE COLOR images: each stored value is an index into the file's red, green and blue
//! lookup tables. The DICOM reader leaves the tables unapplied (it would show the indices as
//! grey levels), so the frame's indices are mapped here.

use dicom_core::Tag;
use dicom_core::value::PrimitiveValue;
use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;
use image::{DynamicImage, RgbImage};

use crate::error::{DeidError, Result};

/// One channel's table: the index of its first entry and its entries.
struct Table {
    first: i64,
    entries: Vec<u16>,
}

impl Table {
    fn read(
        obj: &DefaultDicomObject,
        [descriptor, data, segmented]: [Tag; 3],
        colour: &str,
    ) -> Result<Table> {
        let missing = || {
            DeidError::Dicom(format!(
                "the image is in palette colour but its {colour} table is missing"
            ))
        };
        let d: Vec<i64> = obj
            .get(descriptor)
            .and_then(|e| e.to_multi_int::<i64>().ok())
            .ok_or_else(missing)?;
        let [count, first, _bits] = d[..] else {
            return Err(DeidError::Dicom(format!(
                "the {colour} palette's descriptor has {} values, not 3",
                d.len()
            )));
        };
        // 0 entries means 65 536; a first index stored as US may read as a large positive value.
        let count = if count == 0 { 65_536 } else { count & 0xffff };
        let mut entries = match (obj.get(data), obj.get(segmented)) {
            (Some(_), _) => words(obj, data).ok_or_else(missing)?,
            (None, Some(_)) => expand_segments(&words(obj, segmented).ok_or_else(missing)?)?,
            (None, None) => return Err(missing()),
        };
        if entries.is_empty() {
            return Err(missing());
        }
        entries.truncate(usize::try_from(count).unwrap_or(usize::MAX));
        Ok(Table { first, entries })
    }

    fn get(&self, index: u16) -> u16 {
        let at = (i64::from(index) - self.first).clamp(0, self.entries.len() as i64 - 1);
        self.entries[at as usize]
    }
}

/// An element's value as 16-bit words (OW is read as words; bytes are paired little endian).
fn words(obj: &DefaultDicomObject, tag: Tag) -> Option<Vec<u16>> {
    let element = obj.get(tag)?;
    match element.value().primitive() {
        Some(PrimitiveValue::U16(words)) => Some(words.to_vec()),
        Some(PrimitiveValue::U8(bytes)) => Some(
            bytes
                .chunks_exact(2)
                .map(|p| u16::from_le_bytes([p[0], p[1]]))
                .collect(),
        ),
        _ => element.to_multi_int::<u16>().ok(),
    }
}

/// At most this many entries come out of a segmented table (a table has at most 65 536).
const MAX_ENTRIES: usize = 65_536;

/// A segmented table (PS3.3 C.7.9.2) expanded: discrete segments give their values, linear ones
/// ramp from the last value to their end value. Indirect segments (copies of earlier ones) are
/// refused: no file at hand uses them.
fn expand_segments(words: &[u16]) -> Result<Vec<u16>> {
    let damaged = || DeidError::Dicom("the image's segmented colour palette is damaged".into());
    let mut out: Vec<u16> = Vec::new();
    let mut at = 0;
    while at + 1 < words.len() {
        let (opcode, length) = (words[at], usize::from(words[at + 1]));
        at += 2;
        match opcode {
            0 => {
                let values = words.get(at..at + length).ok_or_else(damaged)?;
                out.extend_from_slice(values);
                at += length;
            }
            1 => {
                let end = f64::from(*words.get(at).ok_or_else(damaged)?);
                let start = f64::from(*out.last().ok_or_else(damaged)?);
                out.extend(
                    (1..=length)
                        .map(|i| (start + (end - start) * i as f64 / length as f64).round() as u16),
                );
                at += 1;
            }
            2 => {
                return Err(DeidError::Dicom(
                    "the image's colour palette copies segments, which Consilium cannot read"
                        .into(),
                ));
            }
            _ => return Err(damaged()),
        }
        if out.len() > MAX_ENTRIES {
            return Err(damaged());
        }
    }
    Ok(out)
}

/// The frame's `indices` (row by row) mapped through the file's palette into an RGB image.
pub(crate) fn apply(
    obj: &DefaultDicomObject,
    indices: &[u16],
    width: u32,
    height: u32,
) -> Result<DynamicImage> {
    let tables = [
        Table::read(
            obj,
            [
                tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            ],
            "red",
        )?,
        Table::read(
            obj,
            [
                tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            ],
            "green",
        )?,
        Table::read(
            obj,
            [
                tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            ],
            "blue",
        )?,
    ];
    // Entries are 16 bits wide; some writers put 8-bit values in them. Tables whose values all
    // fit in a byte are taken as 8-bit, as viewers do.
    let eight_bit = tables
        .iter()
        .all(|t| t.entries.iter().all(|v| *v <= u16::from(u8::MAX)));
    let to_u8 = |v: u16| -> u8 { if eight_bit { v as u8 } else { (v >> 8) as u8 } };
    let needed = width as usize * height as usize;
    if indices.len() < needed {
        return Err(DeidError::Dicom(format!(
            "the frame holds {} values for {width}×{height} pixels",
            indices.len()
        )));
    }
    let mut rgb = Vec::with_capacity(needed * 3);
    for index in &indices[..needed] {
        for table in &tables {
            rgb.push(to_u8(table.get(*index)));
        }
    }
    RgbImage::from_raw(width, height, rgb)
        .map(DynamicImage::ImageRgb8)
        .ok_or_else(|| DeidError::Dicom("the palette image could not be assembled".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segmented_tables_expand_and_damaged_ones_are_refused() {
        // Discrete 0, 10; linear to 50 in 4 steps; discrete 7.
        let table = expand_segments(&[0, 2, 0, 10, 1, 4, 50, 0, 1, 7]).unwrap();
        assert_eq!(table, [0, 10, 20, 30, 40, 50, 7]);
        assert!(
            expand_segments(&[0, 5, 1, 2]).is_err(),
            "a segment runs past the end"
        );
        assert!(
            expand_segments(&[1, 4, 50]).is_err(),
            "a ramp with nothing before it"
        );
        assert!(expand_segments(&[2, 1, 0, 0]).is_err(), "indirect segments");
        assert!(expand_segments(&[9, 1, 0]).is_err(), "an unknown opcode");
        let huge = expand_segments(&[0, 1, 3, 1, 65535, 9, 1, 65535, 3]);
        assert!(huge.is_err(), "more entries than a table can have");
    }
}
