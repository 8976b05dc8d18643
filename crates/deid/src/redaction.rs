//! Redaction rectangles chosen by the author, burned into the pixels as a solid fill.

use std::fmt;
use std::str::FromStr;

use image::{DynamicImage, GenericImage, Rgba};
use serde::{Deserialize, Serialize};

use crate::error::{DeidError, Result};

/// The fill of burned-in redactions: opaque black.
pub(crate) const REDACTION_FILL: Rgba<u8> = Rgba([0, 0, 0, 255]);

/// A pixel rectangle on the upright image: left, top, width, height.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Redaction {
    /// Fills the rectangle with the redaction colour. A rectangle that reaches past the edge is
    /// clipped; one that is empty or entirely outside the image is an error, since it hides
    /// nothing the author meant to hide.
    pub fn burn_into(&self, img: &mut DynamicImage) -> Result<()> {
        let (iw, ih) = (img.width(), img.height());
        if self.w == 0 || self.h == 0 || self.x >= iw || self.y >= ih {
            return Err(DeidError::RedactionOutside {
                x: self.x,
                y: self.y,
                w: self.w,
                h: self.h,
                width: iw,
                height: ih,
            });
        }
        let x_end = self.x.saturating_add(self.w).min(iw);
        let y_end = self.y.saturating_add(self.h).min(ih);
        for y in self.y..y_end {
            for x in self.x..x_end {
                img.put_pixel(x, y, REDACTION_FILL);
            }
        }
        Ok(())
    }
}

impl fmt::Display for Redaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{},{},{}", self.x, self.y, self.w, self.h)
    }
}

impl FromStr for Redaction {
    type Err = DeidError;

    /// Parses `X,Y,W,H` in pixels.
    fn from_str(s: &str) -> Result<Self> {
        let parts: Vec<u32> = s
            .split(',')
            .map(|p| p.trim().parse::<u32>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| DeidError::BadRedaction(s.to_string()))?;
        match parts.as_slice() {
            [x, y, w, h] if *w > 0 && *h > 0 => Ok(Redaction {
                x: *x,
                y: *y,
                w: *w,
                h: *h,
            }),
            _ => Err(DeidError::BadRedaction(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_x_y_w_h() {
        assert_eq!(
            "10, 20,30,40".parse::<Redaction>().ok(),
            Some(Redaction {
                x: 10,
                y: 20,
                w: 30,
                h: 40
            })
        );
        for bad in ["", "1,2,3", "1,2,3,4,5", "a,b,c,d", "1,2,0,4", "-1,2,3,4"] {
            assert!(bad.parse::<Redaction>().is_err(), "{bad}");
        }
    }

    #[test]
    fn burning_clips_at_the_edge_and_refuses_rectangles_outside() {
        let mut img = DynamicImage::new_rgb8(10, 10);
        if let Some(rgb) = img.as_mut_rgb8() {
            rgb.pixels_mut().for_each(|p| p.0 = [200, 200, 200]);
        }
        Redaction {
            x: 8,
            y: 8,
            w: 100,
            h: 100,
        }
        .burn_into(&mut img)
        .unwrap();
        let rgb = img.to_rgb8();
        assert_eq!(rgb.get_pixel(9, 9).0, [0, 0, 0]);
        assert_eq!(rgb.get_pixel(7, 7).0, [200, 200, 200]);
        assert!(
            Redaction {
                x: 10,
                y: 0,
                w: 1,
                h: 1
            }
            .burn_into(&mut img)
            .is_err()
        );
    }
}
