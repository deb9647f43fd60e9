//! Arrow IPC file bytes → a dataset with the label column `y`.
#![no_main]

use dmlsim_models::data::table::ColumnPick;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pick = ColumnPick::Named {
        label: "y".into(),
        features: Vec::new(),
    };
    let _ = dmlsim::learning_setup::arrow_dataset(std::io::Cursor::new(data), "fuzz.arrow", &pick);
});
