//! Scenario bytes → parse, validate and estimate: must return an answer
//! (ok or located problems), never panic, abort or run away.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(scenario) = dmlsim::scenario::parse_scenario_with(text, "fuzz.yaml", &[]) {
        let estimate = dmlsim::estimate::Estimate::of(&scenario, std::path::Path::new("."));
        let _ = estimate.problems();
        let _ = estimate.summary();
    }
});
