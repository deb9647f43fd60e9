//! Parquet file bytes → a dataset with the label column `y`.
#![no_main]

use dmlsim_models::data::table::ColumnPick;
use libfuzzer_sys::fuzz_target;

/// The fuzzer runs under a 2 GB memory limit: files declaring more than
/// 256 MB decoded are refused, as `DMLSIM_MAX_DATA_BYTES` refuses them in
/// a run (default 2 GiB).
fn limit_data() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: set once, before any thread of this target reads the environment.
    ONCE.call_once(|| unsafe { std::env::set_var("DMLSIM_MAX_DATA_BYTES", "268435456") });
}

fuzz_target!(|data: &[u8]| {
    limit_data();
    let pick = ColumnPick::Named {
        label: "y".into(),
        features: Vec::new(),
    };
    let bytes = bytes::Bytes::copy_from_slice(data);
    let _ = dmlsim::learning_setup::parquet_dataset(bytes, "fuzz.parquet", &pick);
});
