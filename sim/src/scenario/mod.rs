//! Scenario files: the typed format, human durations, sampled parameters,
//! loading with located errors, validation and the JSON Schema.

pub mod bytes;
pub mod data_market;
pub mod duration;
pub mod economics;
pub mod governance;
pub mod learning;
pub mod load;
pub mod locate;
pub mod market;
pub mod overrides;
pub mod param;
pub mod tagged;
pub mod types;
pub mod validate;
pub mod verification;

pub use bytes::ByteSize;
pub use data_market::*;
pub use duration::Duration;
pub use economics::*;
pub use governance::*;
pub use learning::*;
pub use load::{
    LoadedScenario, Problem, ScenarioError, load_scenario, load_scenario_with, locate_problems,
    parse_document, parse_scenario, parse_scenario_with,
};
pub use market::*;
pub use overrides::{Override, OverrideError, flow_text};
pub use param::{Distribution, Param};
pub use types::*;
pub use verification::*;

/// The JSON Schema of the scenario format, pretty-printed.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Scenario);
    serde_json::to_string_pretty(&schema).expect("schema serializes")
}
