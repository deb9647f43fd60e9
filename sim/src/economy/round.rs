//! A closed round on the chain: its fees, the operators' costs, the cloud
//! baseline's price, and the punishment of the round's misconduct.

use super::{ChainParams, Economy, RoundEconomics};
use crate::system::{Contribution, Effect, RoundClosed};
use crate::world::Nodes;
use dmlsim_models::econ::TOKEN;
use dmlsim_models::econ::ledger::{EntryKind, LedgerError};
use dmlsim_models::econ::split::PPM;

impl Economy {
    /// Settles a closed round: charges its fees, records the operators'
    /// costs and the cloud baseline, then punishes its misconduct. Returns
    /// the stake slashed for the round; a refused ledger operation is an
    /// error that stops the run.
    pub fn settle_round(
        &mut self,
        closed: &RoundClosed,
        nodes: &Nodes,
        params: &ChainParams,
        effects: &mut Vec<Effect>,
    ) -> Result<u128, String> {
        self.model_hash = closed.model_hash;
        let now = closed.t_end;
        let round = closed.round;
        let mut failure = None;
        if let Err(e) = self.charge_round(closed, nodes, params) {
            failure = Some(format!("ledger refused the fees of round {round}: {e}"));
        }
        let before = self.offences.len();
        for m in &closed.misconduct {
            if let Err(e) = self.punish(now, round, m, nodes, params, effects) {
                failure = Some(format!("ledger refused a slash in round {round}: {e}"));
                break;
            }
        }
        for b in &closed.bad_approvals {
            if let Err(e) = self.punish_validator(now, round, b.validator, b.node, nodes, params) {
                failure = Some(format!(
                    "ledger refused a validator slash in round {round}: {e}"
                ));
            }
        }
        match failure {
            Some(message) => Err(message),
            None => Ok(self.offences[before..].iter().map(|o| o.penalty).sum()),
        }
    }

    /// Charges the job owner for a closed round's work, records the
    /// operators' costs, and prices the round on the cloud baseline.
    fn charge_round(
        &mut self,
        closed: &RoundClosed,
        nodes: &Nodes,
        params: &ChainParams,
    ) -> Result<(), LedgerError> {
        let t = closed.t_end;
        let contributions: &[Contribution] = &closed.accepted;
        let bytes = &closed.traffic;
        let duration = closed.t_end.saturating_sub(closed.t_start);
        let first = closed.first;
        let last_model_bytes = closed.final_model_bytes;
        self.ledger.set_time(t.nanos());
        self.refresh_price(t);
        let total_flops: f64 = contributions.iter().map(|c| c.claimed_flops).sum();
        let gpu_hours: f64 = contributions
            .iter()
            .map(|c| c.claimed_flops / nodes.effective_flops(c.node).max(1e-9))
            .sum::<f64>()
            / 3600.0;
        // Fee per PFLOP of claimed work plus per GPU-hour of compute.
        let fees = &params.fees;
        let wanted = ((total_flops / 1e15 * fees.tokens_per_pflop
            + gpu_hours * fees.tokens_per_gpu_hour)
            * TOKEN as f64)
            .round() as u128;
        let fee = wanted.min(self.ledger.balance(self.job_owner));
        self.unpaid_fees = self.unpaid_fees.saturating_add(wanted - fee);
        if fee > 0 {
            self.ledger
                .transfer(EntryKind::Fee, self.job_owner, self.pool, fee, "work")?;
            let burn = fee * fees.burn_ppm / PPM;
            if burn > 0 {
                self.ledger.burn(self.pool, burn, "fee burn")?;
            }
        }
        self.epoch_fees += fee;
        let mut op_cost = 0.0;
        for c in contributions {
            let op = nodes.operator[c.node as usize] as usize;
            self.flops[c.node as usize] += c.claimed_flops.max(0.0) as u128;
            self.samples[c.node as usize] += u128::from(c.samples);
            // Electricity: watts while really computing × the region's price.
            let usd = self.electricity_usd(c.node, c.done_flops, nodes);
            self.cost_usd[op] += usd;
            self.node_cost_usd[c.node as usize] += usd;
            op_cost += usd;
        }
        for &(node, b) in bytes.iter() {
            let usd = b as f64 / 1e9 * self.plan.bandwidth_usd_per_gb;
            let op = nodes.operator[node as usize] as usize;
            self.cost_usd[op] += usd;
            self.node_cost_usd[node as usize] += usd;
            op_cost += usd;
            op_cost += self.plan.amortization_usd_per_hour[op]
                * self.node_share[node as usize]
                * duration.as_secs_f64()
                / 3600.0;
        }
        let cloud = self.plan.cloud.as_ref().map(|cl| {
            let gpu_hours = total_flops / (cl.tflops * 1e12 * cl.efficiency) / 3600.0;
            let mut usd = gpu_hours * cl.usd_per_gpu_hour;
            if first {
                usd += cl.data_staging_gb * cl.staging_usd_per_gb;
            }
            if let Some(b) = last_model_bytes {
                usd += b as f64 / 1e9 * cl.egress_usd_per_gb;
            }
            usd
        });
        self.rounds.push(RoundEconomics {
            round: closed.round,
            fee,
            emission: 0,
            price_usd: self.price_now,
            operator_cost_usd: op_cost,
            cloud_cost_usd: cloud,
            flops: total_flops,
        });
        Ok(())
    }
}
