//! CSV bytes → a dataset, with a header naming the label `y` and without
//! a header (the last column is the label).
#![no_main]

use dmlsim_models::data::table::{ColumnPick, parse_csv_reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let named = ColumnPick::Named {
        label: "y".into(),
        features: Vec::new(),
    };
    for pick in [named, ColumnPick::LastIsLabel] {
        let _ = parse_csv_reader(data, "fuzz.csv", None, &pick);
    }
});
