//! The UCI optical handwritten digits (1,797 images of 8×8 pixels, 10
//! classes), shipped with the crate; see `models/data/digits/README.md` for
//! source and licence.

use super::Dataset;
use super::table::parse_csv;

const DIGITS_CSV: &str = include_str!("../../data/digits/digits.csv");

/// Loads the shipped digits dataset (pixels 0–16 as floats, labels 0–9).
pub fn load() -> Dataset {
    let mut d = parse_csv(
        DIGITS_CSV,
        "digits",
        None,
        &super::table::ColumnPick::LastIsLabel,
    )
    .expect("the shipped digits file parses");
    d.name = "digits".into();
    d
}

#[cfg(test)]
mod tests {
    #[test]
    fn digits_has_the_documented_shape() {
        let d = super::load();
        assert_eq!((d.len(), d.dim(), d.classes), (1797, 64, 10));
        assert_eq!(d.y[0], 0);
        assert!(d.x.iter().all(|&v| (0.0..=16.0).contains(&v)));
        // Roughly balanced: every class has 174–183 images.
        assert!(d.class_counts().iter().all(|&c| (174..=183).contains(&c)));
    }
}
