//! Parquet file bytes → a dataset with the label column `y`.
#![no_main]

use dmlsim_models::data::table::ColumnPick;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pick = ColumnPick::Named {
        label: "y".into(),
        features: Vec::new(),
    };
    let bytes = bytes::Bytes::copy_from_slice(data);
    let _ = dmlsim::learning_setup::parquet_dataset(bytes, "fuzz.parquet", &pick);
});
