//! A double-entry token ledger in integer base units, settled in
//! hash-chained blocks. Every movement is an entry; no operation can
//! overdraw (it returns an error and changes nothing); supply conservation
//! (minted − burned = Σ balances + Σ stakes + Σ unbonding) is checked when
//! each block is sealed.

use sha2::{Digest, Sha256};
use std::fmt;

/// An account's index in the ledger.
pub type AccountId = u32;

/// What an entry did.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// New tokens created (genesis, emission) into `to`.
    Mint,
    /// Tokens destroyed from `from`.
    Burn,
    /// A plain transfer.
    Transfer,
    /// A job owner paying for work.
    Fee,
    /// A reward paid out of the reward pool.
    Reward,
    /// Balance locked as stake.
    Stake,
    /// Stake moved to unbonding (released after the unbonding period).
    Unstake,
    /// Unbonded tokens returned to the balance.
    Release,
    /// Stake taken as a penalty (burned or sent to `to`).
    Slash,
}

impl EntryKind {
    /// Name used in `ledger.arrow`.
    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Mint => "mint",
            EntryKind::Burn => "burn",
            EntryKind::Transfer => "transfer",
            EntryKind::Fee => "fee",
            EntryKind::Reward => "reward",
            EntryKind::Stake => "stake",
            EntryKind::Unstake => "unstake",
            EntryKind::Release => "release",
            EntryKind::Slash => "slash",
        }
    }
}

/// One ledger movement.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Position in the whole ledger, from 0.
    pub seq: u64,
    /// Block that carries it.
    pub block: u64,
    /// Simulated time in ns.
    pub t_ns: u64,
    /// What happened.
    pub kind: EntryKind,
    /// Debited account (None for a mint).
    pub from: Option<AccountId>,
    /// Credited account (None for a burn).
    pub to: Option<AccountId>,
    /// Base units moved.
    pub amount: u128,
    /// Why (e.g. `compute`, `data`, `genesis`).
    pub memo: &'static str,
}

/// A sealed block: its entries' range and its place in the chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// Block number from 0.
    pub index: u64,
    /// Seal time in ns.
    pub t_ns: u64,
    /// Hash of the previous block (zeros for the first).
    pub prev_hash: [u8; 32],
    /// SHA-256 over the previous hash, index, time, model hash and entries.
    pub hash: [u8; 32],
    /// Entries carried.
    pub entries: u64,
    /// Hash of the aggregated model this block records (zeros if none).
    pub model_hash: [u8; 32],
    /// Supply after the block (minted − burned).
    pub supply: u128,
}

/// Why an operation was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerError {
    /// The account holds less than the amount.
    Insufficient {
        /// Account debited.
        account: AccountId,
        /// What it holds (of the kind debited).
        available: u128,
        /// What was asked.
        wanted: u128,
    },
    /// An arithmetic overflow (amounts beyond u128).
    Overflow,
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedgerError::Insufficient {
                account,
                available,
                wanted,
            } => {
                write!(
                    f,
                    "account {account} holds {available} base units, {wanted} wanted"
                )
            }
            LedgerError::Overflow => write!(f, "amount overflow"),
        }
    }
}

/// A failed conservation check: the block and the last entry before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Block being sealed.
    pub block: u64,
    /// Last entry in it, if any.
    pub last_entry: Option<u64>,
    /// minted − burned.
    pub supply: u128,
    /// Σ balances + Σ stakes + Σ unbonding.
    pub held: u128,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "supply conservation violated at block {} (last entry {:?}): minted − burned = {} but accounts hold {}",
            self.block, self.last_entry, self.supply, self.held
        )
    }
}

/// The ledger: accounts, entries and the chain of sealed blocks.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    names: Vec<String>,
    balance: Vec<u128>,
    stake: Vec<u128>,
    /// (account, amount, release time ns), in the order unstaked.
    unbonding: Vec<(AccountId, u128, u64)>,
    minted: u128,
    burned: u128,
    entries: Vec<Entry>,
    /// Entries taken out by the owner ([`Ledger::drop_sealed_entries`]).
    entries_taken: u64,
    /// Blocks sealed and not yet taken by the owner (all of them unless
    /// [`Ledger::take_blocks`] streams them out).
    blocks: Vec<Block>,
    /// Blocks sealed so far, taken or not.
    sealed: u64,
    /// Hash of the last sealed block (zeros before the first).
    last_hash: [u8; 32],
    block_start: usize,
    now_ns: u64,
    /// Balances or stakes changed since conservation was last checked.
    /// Every change records an entry, so a block with no entries leaves
    /// the sums as the last check found them and is not summed again.
    unchecked: bool,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// Adds an account with a name (unique names are the caller's business).
    pub fn open(&mut self, name: impl Into<String>) -> AccountId {
        self.names.push(name.into());
        self.balance.push(0);
        self.stake.push(0);
        (self.names.len() - 1) as AccountId
    }

    /// Sets the time stamped on the next entries.
    pub fn set_time(&mut self, t_ns: u64) {
        self.now_ns = t_ns;
    }

    /// Account names, by id.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Spendable balance.
    pub fn balance(&self, a: AccountId) -> u128 {
        self.balance[a as usize]
    }

    /// Staked amount.
    pub fn stake(&self, a: AccountId) -> u128 {
        self.stake[a as usize]
    }

    /// Amount unbonding for an account.
    pub fn unbonding(&self, a: AccountId) -> u128 {
        self.unbonding
            .iter()
            .filter(|u| u.0 == a)
            .map(|u| u.1)
            .sum()
    }

    /// Amount unbonding for every account at once (index = account id).
    pub fn unbonding_by_account(&self) -> Vec<u128> {
        let mut v = vec![0u128; self.names.len()];
        for &(a, amount, _) in &self.unbonding {
            v[a as usize] += amount;
        }
        v
    }

    /// Tokens minted so far.
    pub fn minted(&self) -> u128 {
        self.minted
    }

    /// Tokens burned so far.
    pub fn burned(&self) -> u128 {
        self.burned
    }

    /// minted − burned.
    pub fn supply(&self) -> u128 {
        self.minted - self.burned
    }

    /// Σ stakes + Σ unbonding.
    pub fn total_staked(&self) -> u128 {
        self.stake.iter().sum::<u128>() + self.unbonding.iter().map(|u| u.1).sum::<u128>()
    }

    /// The entries not dropped yet: every entry so far unless
    /// [`Ledger::drop_sealed_entries`] was called.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Sequence number of the latest entry (None before the first).
    pub fn last_seq(&self) -> Option<u64> {
        (self.entries_taken + self.entries.len() as u64).checked_sub(1)
    }

    /// Forgets the entries of sealed blocks (their hashes are in the chain),
    /// so a run that does not write the ledger does not keep it.
    pub fn drop_sealed_entries(&mut self) {
        self.entries.drain(..self.block_start);
        self.entries_taken += self.block_start as u64;
        self.block_start = 0;
    }

    /// The sealed blocks not taken yet ([`Ledger::take_blocks`]): every
    /// sealed block when none were taken.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// Takes the sealed blocks not taken yet, so a long run can stream its
    /// chain out instead of holding it (the hash chain continues).
    pub fn take_blocks(&mut self) -> Vec<Block> {
        std::mem::take(&mut self.blocks)
    }

    fn record(
        &mut self,
        kind: EntryKind,
        from: Option<AccountId>,
        to: Option<AccountId>,
        amount: u128,
        memo: &'static str,
    ) {
        self.unchecked = true;
        self.entries.push(Entry {
            seq: self.entries_taken + self.entries.len() as u64,
            block: self.sealed,
            t_ns: self.now_ns,
            kind,
            from,
            to,
            amount,
            memo,
        });
    }

    fn debit(&mut self, a: AccountId, amount: u128) -> Result<(), LedgerError> {
        let b = &mut self.balance[a as usize];
        if *b < amount {
            return Err(LedgerError::Insufficient {
                account: a,
                available: *b,
                wanted: amount,
            });
        }
        *b -= amount;
        Ok(())
    }

    fn debit_stake(&mut self, a: AccountId, amount: u128) -> Result<(), LedgerError> {
        let s = &mut self.stake[a as usize];
        if *s < amount {
            return Err(LedgerError::Insufficient {
                account: a,
                available: *s,
                wanted: amount,
            });
        }
        *s -= amount;
        Ok(())
    }

    fn credit(&mut self, a: AccountId, amount: u128) -> Result<(), LedgerError> {
        let b = &mut self.balance[a as usize];
        *b = b.checked_add(amount).ok_or(LedgerError::Overflow)?;
        Ok(())
    }

    /// Creates `amount` in `to`.
    pub fn mint(
        &mut self,
        to: AccountId,
        amount: u128,
        memo: &'static str,
    ) -> Result<(), LedgerError> {
        let minted = self
            .minted
            .checked_add(amount)
            .ok_or(LedgerError::Overflow)?;
        self.credit(to, amount)?;
        self.minted = minted;
        self.record(EntryKind::Mint, None, Some(to), amount, memo);
        Ok(())
    }

    /// Destroys `amount` from `from`'s balance.
    pub fn burn(
        &mut self,
        from: AccountId,
        amount: u128,
        memo: &'static str,
    ) -> Result<(), LedgerError> {
        self.debit(from, amount)?;
        self.burned += amount;
        self.record(EntryKind::Burn, Some(from), None, amount, memo);
        Ok(())
    }

    /// Moves `amount` between balances, recorded as `kind` (transfer, fee or reward).
    pub fn transfer(
        &mut self,
        kind: EntryKind,
        from: AccountId,
        to: AccountId,
        amount: u128,
        memo: &'static str,
    ) -> Result<(), LedgerError> {
        debug_assert!(matches!(
            kind,
            EntryKind::Transfer | EntryKind::Fee | EntryKind::Reward
        ));
        self.debit(from, amount)?;
        if let Err(e) = self.credit(to, amount) {
            self.balance[from as usize] += amount;
            return Err(e);
        }
        self.record(kind, Some(from), Some(to), amount, memo);
        Ok(())
    }

    /// Locks `amount` of `a`'s balance as stake.
    pub fn stake_tokens(&mut self, a: AccountId, amount: u128) -> Result<(), LedgerError> {
        self.stake_with_memo(a, amount, "stake")
    }

    /// Locks `amount` of `a`'s balance as stake, saying why (`delegation`,
    /// `restake`).
    pub fn stake_with_memo(
        &mut self,
        a: AccountId,
        amount: u128,
        memo: &'static str,
    ) -> Result<(), LedgerError> {
        self.debit(a, amount)?;
        self.stake[a as usize] += amount;
        self.record(EntryKind::Stake, Some(a), Some(a), amount, memo);
        Ok(())
    }

    /// Starts unbonding `amount` of `a`'s stake; it returns to the balance
    /// at `release_ns` (when a block is sealed at or after that time).
    pub fn unstake(
        &mut self,
        a: AccountId,
        amount: u128,
        release_ns: u64,
    ) -> Result<(), LedgerError> {
        self.debit_stake(a, amount)?;
        self.unbonding.push((a, amount, release_ns));
        self.record(EntryKind::Unstake, Some(a), Some(a), amount, "unbonding");
        Ok(())
    }

    /// Takes `amount` of `a`'s stake: burned, or credited to `to`.
    pub fn slash(
        &mut self,
        a: AccountId,
        amount: u128,
        to: Option<AccountId>,
        memo: &'static str,
    ) -> Result<(), LedgerError> {
        self.debit_stake(a, amount)?;
        match to {
            Some(t) => {
                if let Err(e) = self.credit(t, amount) {
                    self.stake[a as usize] += amount;
                    return Err(e);
                }
            }
            None => self.burned += amount,
        }
        self.record(EntryKind::Slash, Some(a), to, amount, memo);
        Ok(())
    }

    /// Checks minted − burned = Σ balances + Σ stakes + Σ unbonding.
    pub fn check_conservation(&self) -> Result<(), Violation> {
        let held = self.balance.iter().sum::<u128>() + self.total_staked();
        if held == self.supply() {
            Ok(())
        } else {
            Err(Violation {
                block: self.sealed,
                last_entry: self.last_seq(),
                supply: self.supply(),
                held,
            })
        }
    }

    /// Releases matured unbonding, checks conservation and seals the
    /// pending entries into a block chained to the previous one.
    pub fn seal_block(&mut self, t_ns: u64, model_hash: [u8; 32]) -> Result<&Block, Violation> {
        self.now_ns = t_ns;
        let mut still = Vec::with_capacity(self.unbonding.len());
        for (a, amount, release) in std::mem::take(&mut self.unbonding) {
            if release <= t_ns {
                self.balance[a as usize] += amount;
                self.record(EntryKind::Release, Some(a), Some(a), amount, "unbonded");
            } else {
                still.push((a, amount, release));
            }
        }
        self.unbonding = still;
        if self.unchecked {
            self.check_conservation()?;
            self.unchecked = false;
        }
        let index = self.sealed;
        let prev_hash = self.last_hash;
        let mut h = Sha256::new();
        h.update(prev_hash);
        h.update(index.to_le_bytes());
        h.update(t_ns.to_le_bytes());
        h.update(model_hash);
        for e in &self.entries[self.block_start..] {
            h.update(e.seq.to_le_bytes());
            h.update(e.t_ns.to_le_bytes());
            h.update(e.kind.label().as_bytes());
            h.update(e.from.map_or(u64::MAX, u64::from).to_le_bytes());
            h.update(e.to.map_or(u64::MAX, u64::from).to_le_bytes());
            h.update(e.amount.to_le_bytes());
            h.update(e.memo.as_bytes());
        }
        let hash: [u8; 32] = h.finalize().into();
        self.blocks.push(Block {
            index,
            t_ns,
            prev_hash,
            hash,
            entries: (self.entries.len() - self.block_start) as u64,
            model_hash,
            supply: self.supply(),
        });
        self.block_start = self.entries.len();
        self.sealed += 1;
        self.last_hash = hash;
        Ok(self.blocks.last().expect("just pushed"))
    }

    /// Corrupts a balance, for tests of the conservation check only.
    #[doc(hidden)]
    pub fn tamper_for_test(&mut self, a: AccountId, amount: u128) {
        self.unchecked = true;
        self.balance[a as usize] += amount;
    }
}

/// Lower-case hex form of bytes (a hash, a digest): one allocation, no
/// formatting machinery (every block of a year-long run writes two).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hex_is_two_lower_case_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff, 0x10]), "000fa5ff10");
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0xab; 32]).len(), 64);
    }

    #[test]
    fn movements_conserve_and_overdrafts_change_nothing() {
        let mut l = Ledger::new();
        let (a, b) = (l.open("a"), l.open("b"));
        l.mint(a, 100, "genesis").unwrap();
        l.transfer(EntryKind::Fee, a, b, 30, "job").unwrap();
        l.stake_tokens(b, 20).unwrap();
        l.burn(a, 10, "burn").unwrap();
        let before = (l.balance(a), l.balance(b), l.entries().len());
        assert_eq!(
            l.transfer(EntryKind::Transfer, b, a, 11, "x"),
            Err(LedgerError::Insufficient {
                account: b,
                available: 10,
                wanted: 11
            })
        );
        assert_eq!((l.balance(a), l.balance(b), l.entries().len()), before);
        l.unstake(b, 20, 50).unwrap();
        l.seal_block(10, [0; 32]).unwrap();
        assert_eq!(l.unbonding(b), 20);
        l.seal_block(50, [0; 32]).unwrap();
        assert_eq!((l.balance(b), l.unbonding(b)), (30, 0));
        assert_eq!(l.supply(), 90);
        l.tamper_for_test(a, 1);
        let v = l.seal_block(60, [0; 32]).unwrap_err();
        assert_eq!((v.block, v.supply, v.held), (2, 90, 91));
    }

    #[test]
    fn dropping_sealed_entries_changes_neither_the_chain_nor_the_numbering() {
        let run = |drop: bool| {
            let mut l = Ledger::new();
            let a = l.open("a");
            let b = l.open("b");
            for i in 0..4u64 {
                l.mint(a, 100, "emission").unwrap();
                l.transfer(EntryKind::Transfer, a, b, 10, "pay").unwrap();
                l.seal_block(i * 10, [0; 32]).unwrap();
                if drop {
                    l.drop_sealed_entries();
                }
            }
            l.mint(a, 1, "emission").unwrap(); // pending, never dropped
            (l.blocks().to_vec(), l.last_seq(), l.entries().len())
        };
        let (kept, kept_seq, kept_len) = run(false);
        let (dropped, dropped_seq, dropped_len) = run(true);
        assert_eq!(kept, dropped);
        assert_eq!(kept_seq, Some(8));
        assert_eq!(dropped_seq, Some(8));
        assert_eq!((kept_len, dropped_len), (9, 1));
    }

    #[test]
    fn chain_hashes_link_and_any_change_propagates() {
        let run = |extra: u128| {
            let mut l = Ledger::new();
            let a = l.open("a");
            for i in 0..5u64 {
                l.mint(a, 1000 + if i == 1 { extra } else { 0 }, "emission")
                    .unwrap();
                l.seal_block(i * 10, [i as u8; 32]).unwrap();
            }
            l.blocks().to_vec()
        };
        let x = run(0);
        let y = run(0);
        assert_eq!(x, y, "same operations, same chain");
        for w in x.windows(2) {
            assert_eq!(w[1].prev_hash, w[0].hash);
        }
        let z = run(1); // one base unit more in block 1
        assert_eq!(x[0].hash, z[0].hash);
        for i in 1..5 {
            assert_ne!(x[i].hash, z[i].hash, "block {i} must change");
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Mint(u8, u64),
        Burn(u8, u64),
        Transfer(u8, u8, u64),
        Stake(u8, u64),
        Unstake(u8, u64, u8),
        Slash(u8, u64, bool),
        Seal(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..4, 0u64..1000).prop_map(|(a, x)| Op::Mint(a, x)),
            (0u8..4, 0u64..1000).prop_map(|(a, x)| Op::Burn(a, x)),
            (0u8..4, 0u8..4, 0u64..1000).prop_map(|(a, b, x)| Op::Transfer(a, b, x)),
            (0u8..4, 0u64..1000).prop_map(|(a, x)| Op::Stake(a, x)),
            (0u8..4, 0u64..1000, 0u8..5).prop_map(|(a, x, d)| Op::Unstake(a, x, d)),
            (0u8..4, 0u64..1000, any::<bool>()).prop_map(|(a, x, b)| Op::Slash(a, x, b)),
            (1u8..5).prop_map(Op::Seal),
        ]
    }

    proptest! {
        #[test]
        fn random_operations_never_break_conservation(ops in proptest::collection::vec(op(), 1..200)) {
            let mut l = Ledger::new();
            let ids: Vec<AccountId> = (0..4).map(|i| l.open(format!("acc{i}"))).collect();
            let mut t = 0u64;
            for o in ops {
                // Refused operations must leave everything as it was.
                let snapshot = (l.minted(), l.burned(), l.entries().len());
                let r = match o {
                    Op::Mint(a, x) => l.mint(ids[a as usize], u128::from(x), "m"),
                    Op::Burn(a, x) => l.burn(ids[a as usize], u128::from(x), "b"),
                    Op::Transfer(a, b, x) => l.transfer(EntryKind::Transfer, ids[a as usize], ids[b as usize], u128::from(x), "t"),
                    Op::Stake(a, x) => l.stake_tokens(ids[a as usize], u128::from(x)),
                    Op::Unstake(a, x, d) => l.unstake(ids[a as usize], u128::from(x), t + u64::from(d)),
                    Op::Slash(a, x, burn) => l.slash(ids[a as usize], u128::from(x), if burn { None } else { Some(ids[0]) }, "s"),
                    Op::Seal(d) => { t += u64::from(d); l.seal_block(t, [0; 32]).map(|_| ()).map_err(|_| LedgerError::Overflow) }
                };
                if r.is_err() {
                    prop_assert_eq!(snapshot, (l.minted(), l.burned(), l.entries().len()));
                }
                prop_assert!(l.check_conservation().is_ok());
            }
        }
    }
}
