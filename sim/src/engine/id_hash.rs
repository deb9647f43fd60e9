//! A fast hasher for sets of integer ids the simulation makes itself
//! (event ids, node ids). It multiplies and folds, and is not built to
//! resist chosen inputs, which such ids are not. Nothing iterates these
//! sets, so their order (and the hasher) never reaches an output.

use std::hash::{BuildHasherDefault, Hasher};

/// Hashes integer ids: each word is folded in and multiplied by an odd
/// constant (the golden ratio in 64 bits), as FxHash does, and the result
/// rotated.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(GOLDEN);
    }
}

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        // A product's low bits depend only on the input's low bits: ids
        // spaced by a power of two would share buckets. Rotating brings
        // the well-mixed middle bits down (as rustc-hash 2 does).
        self.0.rotate_left(26)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.add(u64::from(b));
        }
    }

    fn write_u32(&mut self, v: u32) {
        self.add(u64::from(v));
    }

    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }

    fn write_u128(&mut self, v: u128) {
        self.add(v as u64);
        self.add((v >> 64) as u64);
    }
}

/// A hash set of ids with [`IdHasher`].
pub type IdSet<T> = std::collections::HashSet<T, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn ids_spread_over_the_buckets_a_set_uses() {
        // Sequential ids and ids spaced by powers of two both fill the low
        // bits (bucket index) and the top 7 bits (hashbrown's tag).
        let build = BuildHasherDefault::<IdHasher>::default();
        for step in [1u64, 2, 1 << 10, 1 << 20] {
            let hashes: Vec<u64> = (0..4096u64).map(|i| build.hash_one(i * step)).collect();
            let low: std::collections::HashSet<u64> = hashes.iter().map(|h| h & 4095).collect();
            let top: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
            assert!(low.len() > 2_000, "step {step}: {} low buckets", low.len());
            assert_eq!(top.len(), 128, "step {step}");
        }
        let mut set: IdSet<u128> = IdSet::default();
        assert!(set.insert(7u128 << 64 | 3) && !set.insert(7u128 << 64 | 3));
        assert!(set.contains(&(7u128 << 64 | 3)) && !set.contains(&3));
        assert!(set.remove(&(7u128 << 64 | 3)) && set.is_empty());
    }
}
