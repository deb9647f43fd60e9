//! On-chain votes, engine-free: how tokens become voting power (a
//! [`PowerRule`]: token weighted, quadratic or delegated), how ballots are tallied against a quorum and a
//! threshold, and who decided the outcome — the fewest owners whose votes
//! alone would have carried it, the measure of a captured vote.
//!
//! Voting power is in tokens (token weighted) or square roots of tokens
//! (quadratic), as `f64`, summed in ballot order so a tally is the same on
//! every run.

/// How a wallet's tokens become voting power: the seam a voting rule
/// plugs into. A rule says what a wallet's tokens are worth in votes,
/// whether delegated tokens are voted by the operator they are bonded to,
/// and, from that, what splitting a holding across wallets gains.
pub trait PowerRule: Sync {
    /// Name used in the tables and the scenario.
    fn label(&self) -> &'static str;

    /// The voting power of a wallet holding `tokens` (≥ 0).
    fn power(&self, tokens: f64) -> f64;

    /// Whether power is the tokens themselves (one token, one vote): the
    /// concentration tables then count votes exactly, in base units.
    fn one_token_one_vote(&self) -> bool {
        false
    }

    /// Whether a delegation's tokens are voted by the operator they are
    /// bonded to rather than by the delegating wallet.
    fn follows_delegation(&self) -> bool {
        false
    }

    /// The factor by which splitting a holding of `tokens` into `wallets`
    /// equal wallets multiplies its power: `k · p(T/k) / p(T)`.
    fn sybil_gain(&self, tokens: f64, wallets: u32) -> f64 {
        let k = f64::from(wallets.max(1));
        k * self.power(tokens / k) / self.power(tokens)
    }
}

/// One token, one vote.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenWeighted;

impl PowerRule for TokenWeighted {
    fn label(&self) -> &'static str {
        "token_weighted"
    }
    fn power(&self, tokens: f64) -> f64 {
        tokens.max(0.0)
    }
    fn one_token_one_vote(&self) -> bool {
        true
    }
}

/// Power is the square root of the wallet's tokens, per wallet: an owner
/// who splits tokens across `k` wallets gains `√k` (`k · √(T/k) = √k · √T`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Quadratic;

impl PowerRule for Quadratic {
    fn label(&self) -> &'static str {
        "quadratic"
    }
    fn power(&self, tokens: f64) -> f64 {
        tokens.max(0.0).sqrt()
    }
}

/// One token, one vote, but a delegation's tokens are voted by the
/// operator they are bonded to (voting power follows delegation).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Delegated;

impl PowerRule for Delegated {
    fn label(&self) -> &'static str {
        "delegated"
    }
    fn power(&self, tokens: f64) -> f64 {
        tokens.max(0.0)
    }
    fn one_token_one_vote(&self) -> bool {
        true
    }
    fn follows_delegation(&self) -> bool {
        true
    }
}

/// The voting rules a scenario can name, each a [`PowerRule`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VotingRule {
    /// [`TokenWeighted`].
    TokenWeighted,
    /// [`Quadratic`].
    Quadratic,
    /// [`Delegated`].
    Delegated,
}

impl VotingRule {
    /// The rule itself.
    pub fn rule(self) -> &'static dyn PowerRule {
        match self {
            VotingRule::TokenWeighted => &TokenWeighted,
            VotingRule::Quadratic => &Quadratic,
            VotingRule::Delegated => &Delegated,
        }
    }

    /// The voting power of a wallet holding `tokens`.
    pub fn power(self, tokens: f64) -> f64 {
        self.rule().power(tokens)
    }

    /// Whether delegated tokens count as the operator's power.
    pub fn follows_delegation(self) -> bool {
        self.rule().follows_delegation()
    }

    /// Whether power is the tokens themselves.
    pub fn one_token_one_vote(self) -> bool {
        self.rule().one_token_one_vote()
    }

    /// Name used in the tables and the scenario.
    pub fn label(self) -> &'static str {
        self.rule().label()
    }
}

/// The factor by which splitting one holding into `wallets` equal wallets
/// multiplies its voting power under `rule`: 1 for token weighting, `√k`
/// for quadratic voting.
pub fn sybil_gain(rule: VotingRule, wallets: u32) -> f64 {
    rule.rule().sybil_gain(1.0, wallets)
}

/// A voter's choice.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// For the proposal.
    Yes,
    /// Against it.
    No,
    /// Present (counts toward the quorum) but neither for nor against.
    Abstain,
}

impl Choice {
    /// Name used in `votes.arrow`.
    pub fn label(self) -> &'static str {
        match self {
            Choice::Yes => "yes",
            Choice::No => "no",
            Choice::Abstain => "abstain",
        }
    }
}

/// One wallet's vote.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Ballot {
    /// The owner of the wallet (owners decide; wallets carry power).
    pub owner: u32,
    /// Voting power cast.
    pub power: f64,
    /// How it was cast.
    pub choice: Choice,
}

/// When a proposal passes: enough of all voting power took part, and
/// enough of those who took sides said yes.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Decision {
    /// Fewest votes cast (yes, no and abstain) as a fraction of all
    /// eligible power, in [0, 1].
    pub quorum: f64,
    /// Yes must be more than this fraction of yes + no, in [0, 1).
    pub threshold: f64,
}

/// Sums of power by choice.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// Power for.
    pub yes: f64,
    /// Power against.
    pub no: f64,
    /// Power present but abstaining.
    pub abstain: f64,
}

impl Tally {
    /// Sums the ballots, in order.
    pub fn of(ballots: &[Ballot]) -> Tally {
        let mut t = Tally::default();
        for b in ballots {
            match b.choice {
                Choice::Yes => t.yes += b.power,
                Choice::No => t.no += b.power,
                Choice::Abstain => t.abstain += b.power,
            }
        }
        t
    }

    /// Power cast, abstentions included.
    pub fn cast(&self) -> f64 {
        self.yes + self.no + self.abstain
    }

    /// Power cast as a fraction of `eligible` (0 when nothing is eligible).
    pub fn turnout(&self, eligible: f64) -> f64 {
        if eligible > 0.0 {
            self.cast() / eligible
        } else {
            0.0
        }
    }
}

impl Decision {
    /// Whether a proposal with this tally passes, out of `eligible` power.
    pub fn passes(&self, t: &Tally, eligible: f64) -> bool {
        eligible > 0.0
            && t.cast() >= self.quorum * eligible
            && t.yes > 0.0
            && t.yes > self.threshold * (t.yes + t.no)
    }

    /// The fewest owners who decided the outcome: owners on the winning
    /// side, largest first, are counted until their votes alone — every
    /// other owner of that side absent, the other side and the abstentions
    /// as cast — give the same outcome. None when no owner's vote was
    /// needed (a proposal that failed with no yes vote, or for lack of
    /// quorum whatever its opponents did).
    pub fn decided_by(&self, ballots: &[Ballot], eligible: f64) -> Option<u32> {
        let all = Tally::of(ballots);
        let passed = self.passes(&all, eligible);
        let winning = if passed { Choice::Yes } else { Choice::No };
        // Each winning-side owner's power, largest first (ties: lower id).
        let mut owners: Vec<(u32, f64)> = Vec::new();
        let mut side: Vec<&Ballot> = ballots.iter().filter(|b| b.choice == winning).collect();
        side.sort_by_key(|b| b.owner);
        for b in side {
            match owners.last_mut() {
                Some((o, p)) if *o == b.owner => *p += b.power,
                _ => owners.push((b.owner, b.power)),
            }
        }
        owners.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut with = all;
        match winning {
            Choice::Yes => with.yes = 0.0,
            _ => with.no = 0.0,
        }
        if self.passes(&with, eligible) == passed {
            return None;
        }
        for (k, (_, p)) in owners.iter().enumerate() {
            match winning {
                Choice::Yes => with.yes += p,
                _ => with.no += p,
            }
            if self.passes(&with, eligible) == passed {
                return Some(k as u32 + 1);
            }
        }
        // Rounding of the partial sums: all of them decided it.
        Some(owners.len() as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ballot(owner: u32, power: f64, choice: Choice) -> Ballot {
        Ballot {
            owner,
            power,
            choice,
        }
    }

    const MAJORITY: Decision = Decision {
        quorum: 0.4,
        threshold: 0.5,
    };

    #[test]
    fn quadratic_power_matches_hand_computation() {
        // 100, 49 and 1 tokens: powers 10, 7 and 1.
        let rule = VotingRule::Quadratic;
        let powers: Vec<f64> = [100.0, 49.0, 1.0].iter().map(|&t| rule.power(t)).collect();
        assert_eq!(powers, vec![10.0, 7.0, 1.0]);
        // 10 yes against 7 + 1 no passes; token weighted, 100 against 50.
        let ballots = [
            ballot(0, 10.0, Choice::Yes),
            ballot(1, 7.0, Choice::No),
            ballot(2, 1.0, Choice::No),
        ];
        let t = Tally::of(&ballots);
        assert_eq!((t.yes, t.no, t.abstain), (10.0, 8.0, 0.0));
        assert!(MAJORITY.passes(&t, 18.0));
        assert_eq!(VotingRule::TokenWeighted.power(49.0), 49.0);
        assert_eq!(VotingRule::Quadratic.power(-1.0), 0.0);
    }

    #[test]
    fn a_sybil_split_gains_the_square_root_of_its_wallet_count() {
        // 10,000 tokens in one wallet: 100 votes; in 16 wallets of 625: 16 × 25 = 400.
        let rule = VotingRule::Quadratic;
        let one = rule.power(10_000.0);
        let split: f64 = (0..16).map(|_| rule.power(10_000.0 / 16.0)).sum();
        assert_eq!((one, split), (100.0, 400.0));
        assert_eq!(split / one, sybil_gain(rule, 16));
        for k in [2u32, 3, 7, 1000] {
            let parts: f64 = (0..k).map(|_| rule.power(5_000.0 / f64::from(k))).sum();
            let gain = parts / rule.power(5_000.0);
            assert!((gain - sybil_gain(rule, k)).abs() < 1e-12 * gain);
            let weighted: f64 = (0..k)
                .map(|_| VotingRule::TokenWeighted.power(5_000.0 / f64::from(k)))
                .sum();
            assert!((weighted / 5_000.0 - sybil_gain(VotingRule::TokenWeighted, k)).abs() < 1e-12);
            // The closed forms: √k for quadratic, 1 one token one vote.
            let root = f64::from(k).sqrt();
            assert!((sybil_gain(rule, k) - root).abs() < 1e-12 * root);
            for linear in [VotingRule::TokenWeighted, VotingRule::Delegated] {
                assert!((sybil_gain(linear, k) - 1.0).abs() < 1e-12);
            }
        }
    }

    /// A rule outside the three: power is the cube root of the tokens.
    struct CubeRoot;

    impl PowerRule for CubeRoot {
        fn label(&self) -> &'static str {
            "cube_root"
        }
        fn power(&self, tokens: f64) -> f64 {
            tokens.max(0.0).cbrt()
        }
    }

    #[test]
    fn a_new_rule_plugs_in_with_its_power_alone() {
        // k · (T/k)^(1/3) / T^(1/3) = k^(2/3), whatever T.
        for (tokens, k) in [(1.0, 8u32), (5_000.0, 27), (1e9, 1_000)] {
            let want = f64::from(k).powf(2.0 / 3.0);
            let gain = CubeRoot.sybil_gain(tokens, k);
            assert!((gain - want).abs() < 1e-9 * want, "{gain} vs {want}");
        }
        assert!(!CubeRoot.follows_delegation() && !CubeRoot.one_token_one_vote());
        assert!(VotingRule::Delegated.follows_delegation());
        assert_eq!(VotingRule::Quadratic.label(), "quadratic");
    }

    #[test]
    fn quorum_and_threshold_decide_a_tally() {
        let t = Tally {
            yes: 30.0,
            no: 10.0,
            abstain: 0.0,
        };
        assert!(MAJORITY.passes(&t, 100.0));
        // Turnout 40 of 101 misses a 40% quorum.
        assert!(!MAJORITY.passes(&t, 101.0));
        // Abstentions count toward the quorum, not the threshold.
        let t = Tally {
            yes: 5.0,
            no: 4.0,
            abstain: 31.0,
        };
        assert!(MAJORITY.passes(&t, 100.0));
        // A tie fails a simple majority.
        let t = Tally {
            yes: 25.0,
            no: 25.0,
            abstain: 0.0,
        };
        assert!(!MAJORITY.passes(&t, 100.0));
        assert!(!MAJORITY.passes(&Tally::default(), 0.0));
        assert_eq!(t.turnout(200.0), 0.25);
    }

    #[test]
    fn capture_is_found_on_a_hand_built_vote() {
        // Three founder owners (30, 25, 20) and 25 small holders of 1 each:
        // 100 eligible. Founders vote yes, 15 small holders no, 10 abstain.
        let mut ballots = vec![
            ballot(0, 30.0, Choice::Yes),
            ballot(1, 25.0, Choice::Yes),
            ballot(2, 20.0, Choice::Yes),
        ];
        for o in 3..18 {
            ballots.push(ballot(o, 1.0, Choice::No));
        }
        for o in 18..28 {
            ballots.push(ballot(o, 1.0, Choice::Abstain));
        }
        assert!(MAJORITY.passes(&Tally::of(&ballots), 100.0));
        // The largest founder alone: 30 yes, 15 no, 10 abstain: turnout 55
        // ≥ 40 and 30 > 22.5. One owner decided it.
        assert_eq!(MAJORITY.decided_by(&ballots, 100.0), Some(1));
        // With a 60% quorum the largest alone (turnout 55) is not enough;
        // two founders (turnout 80) are.
        let strict = Decision {
            quorum: 0.6,
            threshold: 0.5,
        };
        assert_eq!(strict.decided_by(&ballots, 100.0), Some(2));
        // A founder's two wallets count as one owner.
        let mut split = ballots.clone();
        split[0].power = 15.0;
        split.insert(1, ballot(0, 15.0, Choice::Yes));
        assert_eq!(MAJORITY.decided_by(&split, 100.0), Some(1));
    }

    #[test]
    fn a_defeat_is_decided_by_its_largest_opponents_and_a_missed_quorum_by_nobody() {
        // 20 yes against no votes of 15, 10 and 5.
        let ballots = [
            ballot(0, 20.0, Choice::Yes),
            ballot(1, 15.0, Choice::No),
            ballot(2, 10.0, Choice::No),
            ballot(3, 5.0, Choice::No),
        ];
        assert!(!MAJORITY.passes(&Tally::of(&ballots), 50.0));
        // Without opponents 20 yes of 50 meets the quorum and passes; the
        // largest opponent alone (15) does not stop it, 15 + 10 does.
        assert_eq!(MAJORITY.decided_by(&ballots, 50.0), Some(2));
        // Out of 100 eligible, the yes side alone misses the quorum: the
        // proposal failed whatever the opponents did.
        assert_eq!(MAJORITY.decided_by(&ballots, 100.0), None);
    }
}
