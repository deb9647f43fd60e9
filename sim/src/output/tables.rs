//! The contract tables (`rounds`, `nodes`, `transfers`) built from a
//! finished federation. Column names carry their units as suffixes; the
//! same unit is stored in each field's Arrow metadata.

use super::table::{Column, Table, dictionary};
use crate::economy::RoundEconomics;
use crate::protocol::{RoundRecord, TransferRecord};
use crate::scenario::Scenario;
use crate::world::Nodes;
use dmlsim_models::learning::{Learner, NodeLearning};

fn secs(t: crate::engine::SimTime) -> f64 {
    t.as_secs_f64()
}

/// `rounds.arrow`: one row per closed round (economics columns are null
/// without an `economics` section).
pub fn rounds_table(records: &[RoundRecord], econ: Option<&[RoundEconomics]>) -> Table {
    let r = records;
    // The economy's record of the same round (both are in round order).
    let e = |i: usize| {
        let round = r[i].round;
        econ.and_then(|e| {
            let k = e.partition_point(|x| x.round < round);
            e.get(k).filter(|x| x.round == round)
        })
    };
    use dmlsim_models::econ::as_tokens;
    let fee: Vec<Option<f64>> = (0..r.len())
        .map(|i| e(i).map(|x| as_tokens(x.fee)))
        .collect();
    let reward: Vec<Option<f64>> = (0..r.len())
        .map(|i| e(i).map(|x| as_tokens(x.paid())))
        .collect();
    let price: Vec<Option<f64>> = (0..r.len()).map(|i| e(i).map(|x| x.price_usd)).collect();
    let cost: Vec<Option<f64>> = (0..r.len()).map(|i| e(i).map(|x| x.cost_usd())).collect();
    let op_cost: Vec<Option<f64>> = (0..r.len())
        .map(|i| e(i).map(|x| x.operator_cost_usd))
        .collect();
    let cloud: Vec<Option<f64>> = (0..r.len())
        .map(|i| e(i).and_then(|x| x.cloud_cost_usd))
        .collect();
    let u32s = |f: fn(&RoundRecord) -> u32| Column::U32(r.iter().map(f).collect());
    let opt = |f: fn(&RoundRecord) -> Option<f64>| Column::OptF64(r.iter().map(f).collect());
    Table::new("rounds")
        .col("round", "", u32s(|x| x.round))
        .col(
            "t_start_s",
            "s",
            Column::F64(r.iter().map(|x| secs(x.t_start)).collect()),
        )
        .col(
            "t_end_s",
            "s",
            Column::F64(r.iter().map(|x| secs(x.t_end)).collect()),
        )
        .col(
            "duration_s",
            "s",
            Column::F64(
                r.iter()
                    .map(|x| secs(x.t_end.saturating_sub(x.t_start)))
                    .collect(),
            ),
        )
        .col("selected", "clients", u32s(|x| x.selected))
        .col("completed", "clients", u32s(|x| x.completed))
        .col(
            "dropped",
            "clients",
            u32s(|x| x.dropped_late + x.dropped_offline),
        )
        .col("dropped_late", "clients", u32s(|x| x.dropped_late))
        .col("dropped_offline", "clients", u32s(|x| x.dropped_offline))
        .col(
            "bytes_up",
            "bytes",
            Column::U64(r.iter().map(|x| x.bytes_up).collect()),
        )
        .col(
            "bytes_down",
            "bytes",
            Column::U64(r.iter().map(|x| x.bytes_down).collect()),
        )
        .col("download_s_mean", "s", opt(|x| x.download_s_mean))
        .col("compute_s_mean", "s", opt(|x| x.compute_s_mean))
        .col("upload_s_mean", "s", opt(|x| x.upload_s_mean))
        .col(
            "test_accuracy",
            "fraction",
            opt(|x| x.evaluation.map(|e| e.test_accuracy)),
        )
        .col("test_loss", "", opt(|x| x.evaluation.map(|e| e.test_loss)))
        .col("train_loss", "", opt(|x| x.train_loss))
        .col(
            "flops",
            "FLOP",
            Column::F64(r.iter().map(|x| x.flops).collect()),
        )
        .col(
            "update_bytes",
            "bytes",
            Column::U64(r.iter().map(|x| x.update_bytes).collect()),
        )
        .col("updates_honest", "updates", u32s(|x| x.by_behaviour[0]))
        .col("updates_lazy", "updates", u32s(|x| x.by_behaviour[1]))
        .col(
            "updates_poisoned",
            "updates",
            u32s(|x| x.by_behaviour[2..].iter().sum()),
        )
        .col("fee_tokens", "tokens", Column::OptF64(fee))
        .col("reward_tokens", "tokens", Column::OptF64(reward))
        .col("token_price_usd", "USD", Column::OptF64(price))
        .col("operator_cost_usd", "USD", Column::OptF64(op_cost))
        .col("cost_usd", "USD", Column::OptF64(cost))
        .col("cloud_cost_usd", "USD", Column::OptF64(cloud))
        .col("verified", "updates", u32s(|x| x.verified))
        .col("rejected", "updates", u32s(|x| x.rejected))
        .col("withheld", "updates", u32s(|x| x.withheld))
        .col(
            "slashed_tokens",
            "tokens",
            Column::F64(r.iter().map(|x| as_tokens(x.slashed)).collect()),
        )
        .col(
            "verification_flops",
            "FLOP",
            Column::F64(r.iter().map(|x| x.verification_flops).collect()),
        )
        .col(
            "settlement_delay_s",
            "s",
            Column::F64(r.iter().map(|x| x.settlement_delay_s).collect()),
        )
}

/// `nodes.arrow`: one row per node with its sampled profile, its data and
/// behaviour, and final counters.
pub fn nodes_table(
    s: &Scenario,
    nodes: &Nodes,
    has_routers: bool,
    learner: &dyn Learner,
    econ: Option<&crate::economy::Economy>,
) -> Table {
    use dmlsim_models::econ::as_tokens;
    let n = nodes.len();
    let opt = |f: &dyn Fn(&crate::economy::Economy, usize) -> f64| -> Column {
        Column::OptF64((0..n).map(|i| econ.map(|e| f(e, i))).collect())
    };
    let offences: Vec<u32> = (0..n)
        .map(|i| econ.map_or(0, |e| e.node_offences[i]))
        .collect();
    let slashed = opt(&|e, i| as_tokens(e.node_slashed[i]));
    let earned = opt(&|e, i| as_tokens(e.node_earned[i]));
    let revenue = opt(&|e, i| e.node_revenue_usd[i]);
    let cost = opt(&|e, i| e.node_cost_usd[i]);
    let profit = opt(&|e, i| e.node_profit_usd(i));
    let learning: Vec<NodeLearning> = (0..nodes.len() as u32)
        .map(|i| learner.node_learning(i))
        .collect();
    let n = nodes.len();
    let profile_names = nodes.profile_names.clone();
    let region_names: Vec<String> = s.regions.iter().map(|r| r.name.clone()).collect();
    let f64s = |v: &Vec<f64>, scale: f64| Column::F64(v.iter().map(|x| x * scale).collect());
    Table::new("nodes")
        .col("node_id", "", Column::U32((0..n as u32).collect()))
        .col("operator_id", "", Column::U32(nodes.operator.clone()))
        .col(
            "profile",
            "",
            Column::Dict(
                nodes.profile.iter().map(|&p| i32::from(p)).collect(),
                profile_names,
            ),
        )
        .col(
            "region",
            "",
            Column::Dict(
                nodes.region.iter().map(|&r| i32::from(r)).collect(),
                region_names,
            ),
        )
        .col(
            "router",
            "",
            Column::I64(
                nodes
                    .router
                    .iter()
                    .map(|&r| has_routers.then_some(i64::from(r)))
                    .collect(),
            ),
        )
        .col(
            "gpu",
            "",
            dictionary(
                nodes
                    .gpu_name
                    .iter()
                    .map(|&g| nodes.gpu_names[g as usize].as_str()),
            ),
        )
        .col("gpu_tflops", "TFLOP/s", f64s(&nodes.gpu_tflops, 1.0))
        .col(
            "gpu_efficiency",
            "fraction",
            f64s(&nodes.gpu_efficiency, 1.0),
        )
        .col("gpu_memory_gb", "GB", f64s(&nodes.gpu_memory_gb, 1.0))
        .col("gpu_watts", "W", f64s(&nodes.gpu_watts, 1.0))
        .col("up_mbps", "Mbit/s", f64s(&nodes.up_bps, 1e-6))
        .col("down_mbps", "Mbit/s", f64s(&nodes.down_bps, 1e-6))
        .col(
            "availability",
            "",
            dictionary((0..n as u32).map(|i| nodes.availability_label(i))),
        )
        .col(
            "busy_start_h",
            "h",
            Column::F64(nodes.busy_hours.iter().map(|b| f64::from(b.0)).collect()),
        )
        .col(
            "busy_end_h",
            "h",
            Column::F64(nodes.busy_hours.iter().map(|b| f64::from(b.1)).collect()),
        )
        .col(
            "samples",
            "examples",
            Column::U64(learning.iter().map(|l| l.samples).collect()),
        )
        .col(
            "behaviour",
            "",
            dictionary(learning.iter().map(|l| l.behaviour)),
        )
        .col(
            "rounds_selected",
            "rounds",
            Column::U32(nodes.stats.rounds_selected.clone()),
        )
        .col(
            "rounds_completed",
            "rounds",
            Column::U32(nodes.stats.rounds_completed.clone()),
        )
        .col(
            "bytes_up",
            "bytes",
            Column::U64(nodes.stats.bytes_up.clone()),
        )
        .col(
            "bytes_down",
            "bytes",
            Column::U64(nodes.stats.bytes_down.clone()),
        )
        .col(
            "compute_s",
            "s",
            Column::F64(
                nodes
                    .stats
                    .compute_ns
                    .iter()
                    .map(|&ns| ns as f64 / 1e9)
                    .collect(),
            ),
        )
        .col("offences", "offences", Column::U32(offences))
        .col("slashed_tokens", "tokens", slashed)
        .col("earned_tokens", "tokens", earned)
        .col("revenue_usd", "USD", revenue)
        .col("cost_usd", "USD", cost)
        .col("net_profit_usd", "USD", profit)
}

/// `transfers.arrow`: one row per flow (written with `--trace`); with
/// `with_job` (a run with market jobs) it starts with the flow's job.
pub fn transfers_table(trace: &[TransferRecord], with_job: bool) -> Table {
    let t = trace;
    let endpoint = |v: Option<u32>| Some(v.map_or(-1, i64::from));
    let mut table = Table::new("transfers");
    if with_job {
        table = table.col(
            "job",
            "0 = the protocol's job",
            Column::U32(t.iter().map(|x| u32::from(x.job)).collect()),
        );
    }
    table
        .col(
            "round",
            "",
            Column::U32(t.iter().map(|x| x.round).collect()),
        )
        .col("kind", "", dictionary(t.iter().map(|x| x.kind.label())))
        .col(
            "src",
            "node id, -1 = aggregator",
            Column::I64(t.iter().map(|x| endpoint(x.src)).collect()),
        )
        .col(
            "dst",
            "node id, -1 = aggregator",
            Column::I64(t.iter().map(|x| endpoint(x.dst)).collect()),
        )
        .col(
            "bytes",
            "bytes",
            Column::U64(t.iter().map(|x| x.bytes).collect()),
        )
        .col(
            "bytes_moved",
            "bytes",
            Column::U64(t.iter().map(|x| x.bytes_moved).collect()),
        )
        .col(
            "start_s",
            "s",
            Column::F64(t.iter().map(|x| secs(x.start)).collect()),
        )
        .col(
            "end_s",
            "s",
            Column::F64(t.iter().map(|x| secs(x.end)).collect()),
        )
        .col(
            "latency_s",
            "s",
            Column::F64(t.iter().map(|x| secs(x.latency)).collect()),
        )
        .col(
            "delivered",
            "",
            Column::Bool(t.iter().map(|x| x.delivered).collect()),
        )
}
