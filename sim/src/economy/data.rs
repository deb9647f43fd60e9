//! The data market's side of the economy: dataset sales, by which the
//! rewards split's data share is paid to providers, and the bytes each
//! node hosts and serves, by which its storage and relay shares are paid.

use super::Economy;
use crate::world::Nodes;
use dmlsim_models::econ::ledger::AccountId;

/// What the data share, storage and relay shares are paid by.
#[derive(Clone, Debug, Default)]
pub struct DataRewards {
    /// Each provider's account.
    pub providers: Vec<AccountId>,
    /// Tokens each provider sold datasets for in the open epoch.
    pub sold: Vec<u128>,
    /// Data-share rewards each provider received over the run.
    pub rewarded: Vec<u128>,
    /// Bytes each node hosts (each replica's dataset size).
    pub hosted: Vec<u128>,
    /// Bytes each node served to training clients in the open epoch.
    pub served: Vec<u128>,
    /// The last settlement's data, storage and relay payouts, base units.
    pub last_paid: [u128; 3],
}

impl Economy {
    /// Opens the data market's accounting: providers' accounts, and each
    /// node's hosted bytes (`hosted`, one entry per node).
    pub fn open_data_market(&mut self, providers: Vec<AccountId>, hosted: Vec<u128>) {
        let n = hosted.len();
        self.data = Some(DataRewards {
            sold: vec![0; providers.len()],
            rewarded: vec![0; providers.len()],
            providers,
            hosted,
            served: vec![0; n],
            last_paid: [0; 3],
        });
    }

    /// Books a dataset sale of `tokens` by provider `provider` (an index
    /// into the accounts given to [`Economy::open_data_market`]).
    pub fn book_data_sale(&mut self, provider: usize, tokens: u128) {
        if let Some(d) = self.data.as_mut() {
            d.sold[provider] += tokens;
        }
    }

    /// Books `bytes` of dataset shards `node` served, and their bandwidth
    /// cost to its operator.
    pub fn book_data_served(&mut self, node: u32, bytes: u64, nodes: &Nodes) {
        if let Some(d) = self.data.as_mut() {
            d.served[node as usize] += u128::from(bytes);
        }
        self.book_market_traffic(node, bytes, nodes);
    }

    /// The data market's accounting, if the run has one.
    pub fn data_rewards(&self) -> Option<&DataRewards> {
        self.data.as_ref()
    }
}
