//! Built-in invariants, checked from a run's files alone (no simulator
//! state): the manifest, the ledger replayed entry by entry, the hash
//! chain recomputed block by block, offences against the ledger.

use super::data::RunData;
use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int32Type, Int64Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use sha2::{Digest, Sha256};

/// The outcome of one invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It holds.
    Pass,
    /// It is broken: where and how.
    Fail(String),
    /// It does not apply to this run (why).
    Skipped(String),
}

/// The built-in invariants, in the order they are checked and reported.
pub const INVARIANTS: [(&str, &str); 7] = [
    (
        "files_intact",
        "every file in run.json's manifest has its recorded size and SHA-256",
    ),
    (
        "supply_conserved",
        "replaying ledger.arrow: minted − burned = Σ balances + stakes + unbonding after every block, and equals blocks.supply",
    ),
    (
        "no_negative_balance",
        "replaying ledger.arrow: no balance, stake or unbonding amount is ever negative",
    ),
    (
        "rewards_paid_in_full",
        "the reward pool is empty after every payout: rewards paid = rewards available",
    ),
    (
        "slash_within_stake",
        "no slash takes more than the account's stake at that moment",
    ),
    (
        "chain_consistent",
        "each block's prev_hash is the previous hash, its entries are ledger.arrow's rows of that block, and its hash recomputes from them",
    ),
    (
        "ledger_matches_offences",
        "each punished offence in offences.arrow is a slash in ledger.arrow of its penalty, and the ledger has no other slash",
    ),
];

/// One ledger entry as read back.
struct Entry {
    seq: u64,
    block: u64,
    t_ns: u64,
    kind: String,
    from: Option<i32>,
    to: Option<i32>,
    amount: i128,
    memo: String,
}

/// The message for a column whose type is not the one dmlsim writes.
fn wrong_type(a: &dyn Array, what: &str) -> String {
    format!(
        "a column of type {} where dmlsim writes {what} (was the file re-saved by another tool?)",
        a.data_type()
    )
}

/// A column as a primitive array of `T`, or an error naming its type.
fn prim<T: arrow_array::ArrowPrimitiveType>(
    a: &dyn Array,
) -> Result<arrow_array::PrimitiveArray<T>, String> {
    a.as_primitive_opt::<T>()
        .cloned()
        .ok_or_else(|| wrong_type(a, &T::DATA_TYPE.to_string()))
}

/// A column as a dictionary of strings, or an error naming its type.
fn dict(a: &dyn Array) -> Result<arrow_array::DictionaryArray<Int32Type>, String> {
    let d = a
        .as_dictionary_opt::<Int32Type>()
        .ok_or_else(|| wrong_type(a, "a dictionary of strings"))?;
    d.values()
        .as_string_opt::<i32>()
        .ok_or_else(|| wrong_type(a, "a dictionary of strings"))?;
    Ok(d.clone())
}

/// A column as strings, or an error naming its type.
fn strs(a: &dyn Array) -> Result<arrow_array::StringArray, String> {
    a.as_string_opt::<i32>()
        .cloned()
        .ok_or_else(|| wrong_type(a, "strings"))
}

fn strings_of_dict(a: &dyn Array) -> Result<Vec<Option<String>>, String> {
    let d = dict(a)?;
    let labels = d.values().as_string::<i32>();
    Ok((0..d.len())
        .map(|i| d.key(i).map(|k| labels.value(k).to_string()))
        .collect())
}

fn col<'a>(b: &'a RecordBatch, name: &str, table: &str) -> Result<&'a dyn Array, String> {
    b.column_by_name(name).map(|c| c.as_ref()).ok_or_else(|| {
        format!("{table}.arrow has no column `{name}` (written by an older dmlsim?)")
    })
}

/// Reads ledger.arrow: the entries and the account names.
fn read_ledger(data: &RunData) -> Result<(Vec<Entry>, Vec<String>), String> {
    let mut out = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for b in data.batches("ledger")?.iter() {
        let t = "ledger";
        let seq = prim::<UInt64Type>(col(b, "seq", t)?)?;
        let block = prim::<UInt64Type>(col(b, "block", t)?)?;
        let t_ns = prim::<UInt64Type>(col(b, "t_ns", t)?)?;
        let kind = strings_of_dict(col(b, "kind", t)?)?;
        let memo = strings_of_dict(col(b, "memo", t)?)?;
        let amount = prim::<Decimal128Type>(col(b, "amount", t)?)?;
        let from = dict(col(b, "from", t)?)?;
        let to = dict(col(b, "to", t)?)?;
        if names.is_empty() {
            let labels = from.values().as_string::<i32>();
            names = (0..labels.len())
                .map(|i| labels.value(i).to_string())
                .collect();
        }
        let key = |d: &arrow_array::DictionaryArray<Int32Type>, i: usize| {
            (!d.is_null(i)).then(|| d.keys().value(i))
        };
        for i in 0..b.num_rows() {
            out.push(Entry {
                seq: seq.value(i),
                block: block.value(i),
                t_ns: t_ns.value(i),
                kind: kind[i].clone().unwrap_or_default(),
                from: key(&from, i),
                to: key(&to, i),
                amount: amount.value(i),
                memo: memo[i].clone().unwrap_or_default(),
            });
        }
    }
    Ok((out, names))
}

/// Checks every built-in invariant.
pub fn check_all(data: &RunData) -> Vec<(&'static str, Outcome)> {
    let mut out = vec![("files_intact", files_intact(data))];
    let ledger = if data.has_table("ledger") {
        Some(read_ledger(data))
    } else {
        None
    };
    let no_ledger = || {
        Outcome::Skipped(
            "no ledger.arrow (a run without economics, or --tables left it out)".into(),
        )
    };
    match &ledger {
        None => {
            for name in [
                "supply_conserved",
                "no_negative_balance",
                "rewards_paid_in_full",
                "slash_within_stake",
            ] {
                out.push((name, no_ledger()));
            }
        }
        Some(Err(e)) => {
            for name in [
                "supply_conserved",
                "no_negative_balance",
                "rewards_paid_in_full",
                "slash_within_stake",
            ] {
                out.push((name, Outcome::Fail(e.clone())));
            }
        }
        Some(Ok((entries, names))) => {
            let r = replay(entries, names, data);
            out.push(("supply_conserved", r.supply));
            out.push(("no_negative_balance", r.negative));
            out.push(("rewards_paid_in_full", r.pool));
            out.push(("slash_within_stake", r.slash));
        }
    }
    out.push((
        "chain_consistent",
        match &ledger {
            Some(Ok((entries, _))) if data.has_table("blocks") => chain(data, entries),
            Some(Err(e)) => Outcome::Fail(e.clone()),
            _ => Outcome::Skipped("needs ledger.arrow and blocks.arrow".into()),
        },
    ));
    out.push((
        "ledger_matches_offences",
        match &ledger {
            Some(Ok((entries, _))) if data.has_table("offences") => offences(data, entries),
            Some(Err(e)) => Outcome::Fail(e.clone()),
            _ => Outcome::Skipped(
                "needs ledger.arrow and offences.arrow (a run with verification)".into(),
            ),
        },
    ));
    out
}

fn files_intact(data: &RunData) -> Outcome {
    let Some(files) = data.run_json.get("files").and_then(|f| f.as_array()) else {
        return Outcome::Fail("run.json has no manifest (`files`)".into());
    };
    for f in files {
        let (Some(name), Some(bytes), Some(sha)) = (
            f.get("name").and_then(|v| v.as_str()),
            f.get("bytes").and_then(|v| v.as_u64()),
            f.get("sha256").and_then(|v| v.as_str()),
        ) else {
            return Outcome::Fail(format!("a manifest entry is incomplete: {f}"));
        };
        let path = data.dir.join(name);
        let content = match std::fs::read(&path) {
            Ok(c) => c,
            Err(e) => return Outcome::Fail(format!("{name}: {e}")),
        };
        if content.len() as u64 != bytes {
            return Outcome::Fail(format!(
                "{name} has {} bytes; the manifest says {bytes}",
                content.len()
            ));
        }
        let digest = crate::output::sink::hex(&Sha256::digest(&content));
        if digest != sha {
            return Outcome::Fail(format!(
                "{name}'s SHA-256 is {digest}; the manifest says {sha} (the file changed after the run)"
            ));
        }
    }
    Outcome::Pass
}

struct Replay {
    supply: Outcome,
    negative: Outcome,
    pool: Outcome,
    slash: Outcome,
}

/// Replays the ledger once, checking four invariants on the way.
fn replay(entries: &[Entry], names: &[String], data: &RunData) -> Replay {
    let n = names.len();
    let (mut balance, mut stake, mut unbonding) = (vec![0i128; n], vec![0i128; n], vec![0i128; n]);
    let (mut minted, mut burned) = (0i128, 0i128);
    let mut r = Replay {
        supply: Outcome::Pass,
        negative: Outcome::Pass,
        pool: Outcome::Pass,
        slash: Outcome::Pass,
    };
    let pool = names.iter().position(|a| a == "reward-pool");
    let treasury = names.iter().position(|a| a == "treasury");
    if pool.is_none() {
        r.pool = Outcome::Skipped("the ledger has no reward-pool account".into());
    }
    // The supply after each block that holds entries.
    let mut after_block: Vec<(u64, i128)> = Vec::new();
    let fail = |o: &mut Outcome, m: String| {
        if *o == Outcome::Pass {
            *o = Outcome::Fail(m);
        }
    };
    let acct = |a: Option<i32>| a.and_then(|a| usize::try_from(a).ok()).filter(|&a| a < n);
    for (i, e) in entries.iter().enumerate() {
        let (from, to, x) = (acct(e.from), acct(e.to), e.amount);
        let named = |a: Option<usize>| a.map_or("nobody".to_string(), |a| names[a].clone());
        let missing = || {
            format!(
                "entry {} ({}) names no account where one is needed",
                e.seq, e.kind
            )
        };
        match (e.kind.as_str(), from, to) {
            ("mint", _, Some(t)) => {
                minted += x;
                balance[t] += x;
            }
            ("burn", Some(f), _) => {
                burned += x;
                balance[f] -= x;
            }
            ("transfer" | "fee" | "reward", Some(f), Some(t)) => {
                balance[f] -= x;
                balance[t] += x;
            }
            ("stake", Some(f), _) => {
                balance[f] -= x;
                stake[f] += x;
            }
            ("unstake", Some(f), _) => {
                stake[f] -= x;
                unbonding[f] += x;
            }
            ("release", Some(f), _) => {
                unbonding[f] -= x;
                balance[f] += x;
            }
            ("slash", Some(f), t) => {
                if x > stake[f] {
                    fail(
                        &mut r.slash,
                        format!(
                            "entry {} slashes {} base units from {} whose stake is {}",
                            e.seq, x, names[f], stake[f]
                        ),
                    );
                }
                stake[f] -= x;
                match t {
                    Some(t) => balance[t] += x,
                    None => burned += x,
                }
            }
            (k, _, _)
                if !matches!(
                    k,
                    "mint"
                        | "burn"
                        | "transfer"
                        | "fee"
                        | "reward"
                        | "stake"
                        | "unstake"
                        | "release"
                        | "slash"
                ) =>
            {
                fail(
                    &mut r.supply,
                    format!("entry {} has an unknown kind `{k}`", e.seq),
                );
            }
            _ => fail(&mut r.supply, missing()),
        }
        for a in [from, to].into_iter().flatten() {
            if balance[a] < 0 || stake[a] < 0 || unbonding[a] < 0 {
                fail(
                    &mut r.negative,
                    format!(
                        "after entry {} ({} {} → {}), {} holds balance {}, stake {}, unbonding {}",
                        e.seq,
                        e.kind,
                        named(from),
                        named(to),
                        names[a],
                        balance[a],
                        stake[a],
                        unbonding[a]
                    ),
                );
            }
        }
        // The treasury takes the rest of the pool last: it must be empty.
        if let (Some(p), Some(t)) = (pool, treasury)
            && e.kind == "reward"
            && to == Some(t)
            && from == Some(p)
            && balance[p] != 0
        {
            fail(
                &mut r.pool,
                format!(
                    "after the payout ending at entry {}, the reward pool still holds {} base units",
                    e.seq, balance[p]
                ),
            );
        }
        let block_ends = entries.get(i + 1).is_none_or(|next| next.block != e.block);
        if block_ends {
            let held: i128 = balance.iter().sum::<i128>()
                + stake.iter().sum::<i128>()
                + unbonding.iter().sum::<i128>();
            if minted - burned != held {
                fail(
                    &mut r.supply,
                    format!(
                        "after block {}: minted − burned = {} but accounts hold {}",
                        e.block,
                        minted - burned,
                        held
                    ),
                );
            }
            after_block.push((e.block, minted - burned));
        }
    }
    // Every block of blocks.arrow, empty ones included, against the replay.
    for (block, supply) in block_supplies(data).unwrap_or_default() {
        let k = after_block.partition_point(|&(b, _)| b <= block);
        let replayed = if k == 0 { 0 } else { after_block[k - 1].1 };
        if supply != replayed {
            fail(
                &mut r.supply,
                format!(
                    "blocks.arrow says block {block} left a supply of {supply}; the ledger replays to {replayed}"
                ),
            );
            break;
        }
    }
    r
}

/// Each block's supply from blocks.arrow, if present.
fn block_supplies(data: &RunData) -> Option<std::collections::BTreeMap<u64, i128>> {
    let batches = data.batches("blocks").ok()?;
    let mut m = std::collections::BTreeMap::new();
    for b in batches.iter() {
        let block = b
            .column_by_name("block")?
            .as_primitive_opt::<UInt64Type>()?
            .clone();
        let supply = b
            .column_by_name("supply")?
            .as_primitive_opt::<Decimal128Type>()?
            .clone();
        for i in 0..b.num_rows() {
            m.insert(block.value(i), supply.value(i));
        }
    }
    Some(m)
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Recomputes the hash chain from blocks.arrow and ledger.arrow.
fn chain(data: &RunData, entries: &[Entry]) -> Outcome {
    let batches = match data.batches("blocks") {
        Ok(b) => b,
        Err(e) => return Outcome::Fail(e),
    };
    let mut prev = [0u8; 32];
    let mut next_entry = 0usize;
    for b in batches.iter() {
        let cols = (|| -> Result<_, String> {
            Ok((
                prim::<UInt64Type>(col(b, "block", "blocks")?)?,
                prim::<UInt64Type>(col(b, "t_ns", "blocks")?)?,
                strs(col(b, "prev_hash", "blocks")?)?,
                strs(col(b, "hash", "blocks")?)?,
                prim::<UInt64Type>(col(b, "entries", "blocks")?)?,
                strs(col(b, "model_hash", "blocks")?)?,
            ))
        })();
        let (index, t_ns, prev_hash, hash, count, model_hash) = match cols {
            Ok(c) => c,
            Err(e) => return Outcome::Fail(e),
        };
        for i in 0..b.num_rows() {
            let k = index.value(i);
            let (Some(p), Some(h), Some(m)) = (
                unhex(prev_hash.value(i)),
                unhex(hash.value(i)),
                unhex(model_hash.value(i)),
            ) else {
                return Outcome::Fail(format!("block {k}: a hash is not 64 hex digits"));
            };
            if p != prev {
                return Outcome::Fail(format!(
                    "block {k}: prev_hash {} is not the previous block's hash {}",
                    prev_hash.value(i),
                    crate::output::sink::hex(&prev)
                ));
            }
            let mine: Vec<&Entry> = entries[next_entry..]
                .iter()
                .take_while(|e| e.block == k)
                .collect();
            if mine.len() as u64 != count.value(i) {
                return Outcome::Fail(format!(
                    "block {k} says it holds {} entries; ledger.arrow has {} in it",
                    count.value(i),
                    mine.len()
                ));
            }
            next_entry += mine.len();
            let mut s = Sha256::new();
            s.update(p);
            s.update(k.to_le_bytes());
            s.update(t_ns.value(i).to_le_bytes());
            s.update(m);
            for e in &mine {
                s.update(e.seq.to_le_bytes());
                s.update(e.t_ns.to_le_bytes());
                s.update(e.kind.as_bytes());
                let id = |a: Option<i32>| a.map_or(u64::MAX, |a| a as u64);
                s.update(id(e.from).to_le_bytes());
                s.update(id(e.to).to_le_bytes());
                s.update((e.amount as u128).to_le_bytes());
                s.update(e.memo.as_bytes());
            }
            let recomputed: [u8; 32] = s.finalize().into();
            if recomputed != h {
                return Outcome::Fail(format!(
                    "block {k}: its entries and header hash to {}, not the recorded {} (ledger.arrow or blocks.arrow changed)",
                    crate::output::sink::hex(&recomputed),
                    hash.value(i)
                ));
            }
            prev = h;
        }
    }
    // Entries after the last sealed block (a run stopped between blocks)
    // belong to the next block, not yet sealed; any other is out of place.
    let next_block = batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
    if let Some(e) = entries[next_entry..].iter().find(|e| e.block != next_block) {
        return Outcome::Fail(format!(
            "ledger.arrow entry {} lies in block {}, which blocks.arrow does not hold",
            e.seq, e.block
        ));
    }
    Outcome::Pass
}

/// Offences against the ledger's slashes.
fn offences(data: &RunData, entries: &[Entry]) -> Outcome {
    let batches = match data.batches("offences") {
        Ok(b) => b,
        Err(e) => return Outcome::Fail(e),
    };
    let by_seq: std::collections::BTreeMap<u64, &Entry> =
        entries.iter().map(|e| (e.seq, e)).collect();
    let mut matched = std::collections::BTreeSet::new();
    for b in batches.iter() {
        let cols = (|| -> Result<_, String> {
            Ok((
                prim::<Decimal128Type>(col(b, "penalty", "offences")?)?,
                prim::<Int64Type>(col(b, "ledger_seq", "offences")?)?,
            ))
        })();
        let (penalty, seq) = match cols {
            Ok(c) => c,
            Err(e) => return Outcome::Fail(e),
        };
        for i in 0..b.num_rows() {
            if seq.is_null(i) {
                if penalty.value(i) != 0 {
                    return Outcome::Fail(format!(
                        "offence row {i} has a penalty of {} base units but no ledger entry",
                        penalty.value(i)
                    ));
                }
                continue;
            }
            let s = seq.value(i) as u64;
            let Some(e) = by_seq.get(&s) else {
                return Outcome::Fail(format!(
                    "offence row {i} names ledger entry {s}, which ledger.arrow does not hold"
                ));
            };
            if e.kind != "slash" || e.amount != penalty.value(i) {
                return Outcome::Fail(format!(
                    "offence row {i}: ledger entry {s} is a {} of {} base units, not a slash of the penalty {}",
                    e.kind,
                    e.amount,
                    penalty.value(i)
                ));
            }
            matched.insert(s);
        }
    }
    if let Some(e) = entries
        .iter()
        .find(|e| e.kind == "slash" && !matched.contains(&e.seq))
    {
        return Outcome::Fail(format!(
            "ledger entry {} slashes {} base units but no offence in offences.arrow accounts for it",
            e.seq, e.amount
        ));
    }
    Outcome::Pass
}
