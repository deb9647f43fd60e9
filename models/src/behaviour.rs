//! What a client does with its round: train honestly, free-ride, or poison.

use rand::Rng;
use rand_distr::{Distribution, Normal};

/// A client's behaviour, drawn per node from its profile's weights.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Behaviour {
    /// Trains on its data and sends the result.
    Honest,
    /// Free-rider: sends the global model back untrained, spends no compute,
    /// but claims the work.
    Lazy,
    /// Trains, then sends the update with its sign flipped (times a scale).
    SignFlip,
    /// Trains, then sends the update multiplied by a large factor.
    Scaled,
    /// Sends the global model plus Gaussian noise instead of an update.
    GaussianNoise,
    /// Trains on its data with every label `y` replaced by `classes − 1 − y`.
    LabelFlip,
}

/// Every behaviour, in the order used for names and counts.
pub const ALL: [Behaviour; 6] = [
    Behaviour::Honest,
    Behaviour::Lazy,
    Behaviour::SignFlip,
    Behaviour::Scaled,
    Behaviour::GaussianNoise,
    Behaviour::LabelFlip,
];

/// Strength of the attacks.
#[derive(Clone, Debug, PartialEq)]
pub struct AttackParams {
    /// Sign flip sends `global − scale · update`.
    pub sign_flip_scale: f32,
    /// Scaled sends `global + factor · update`.
    pub scale_factor: f32,
    /// Standard deviation of the noise a Gaussian attacker sends.
    pub noise_std: f32,
}

impl Default for AttackParams {
    fn default() -> Self {
        AttackParams {
            sign_flip_scale: 1.0,
            scale_factor: 10.0,
            noise_std: 1.0,
        }
    }
}

impl Behaviour {
    /// Name used in YAML and outputs.
    pub fn label(self) -> &'static str {
        match self {
            Behaviour::Honest => "honest",
            Behaviour::Lazy => "lazy",
            Behaviour::SignFlip => "sign_flip",
            Behaviour::Scaled => "scaled",
            Behaviour::GaussianNoise => "gaussian_noise",
            Behaviour::LabelFlip => "label_flip",
        }
    }

    /// The behaviour with this name.
    pub fn from_label(name: &str) -> Option<Behaviour> {
        ALL.iter().copied().find(|b| b.label() == name)
    }

    /// Whether it corrupts the model (as opposed to honest or lazy).
    pub fn is_poisoning(self) -> bool {
        !matches!(self, Behaviour::Honest | Behaviour::Lazy)
    }

    /// Whether it runs local training (and spends its compute).
    pub fn trains(self) -> bool {
        !matches!(self, Behaviour::Lazy | Behaviour::GaussianNoise)
    }

    /// The label a training example is given.
    pub fn map_label(self, y: u32, classes: usize) -> u32 {
        match self {
            Behaviour::LabelFlip => classes as u32 - 1 - y,
            _ => y,
        }
    }

    /// The model this client sends, from the global model and what it trained.
    pub fn corrupt<R: Rng + ?Sized>(
        self,
        global: &[f32],
        trained: Vec<f32>,
        attack: &AttackParams,
        rng: &mut R,
    ) -> Vec<f32> {
        match self {
            Behaviour::Honest | Behaviour::LabelFlip => trained,
            Behaviour::Lazy => global.to_vec(),
            Behaviour::SignFlip => global
                .iter()
                .zip(trained)
                .map(|(g, w)| g - attack.sign_flip_scale * (w - g))
                .collect(),
            Behaviour::Scaled => global
                .iter()
                .zip(trained)
                .map(|(g, w)| g + attack.scale_factor * (w - g))
                .collect(),
            Behaviour::GaussianNoise => {
                let n = Normal::new(0.0, f64::from(attack.noise_std)).expect("validated std");
                global.iter().map(|g| g + n.sample(rng) as f32).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn corruptions_by_hand() {
        let g = [1.0f32, 1.0];
        let w = vec![2.0f32, 0.0]; // update (+1, −1)
        let a = AttackParams {
            sign_flip_scale: 2.0,
            scale_factor: 10.0,
            noise_std: 1.0,
        };
        let mut r = stream(1, "t", 0);
        assert_eq!(
            Behaviour::SignFlip.corrupt(&g, w.clone(), &a, &mut r),
            vec![-1.0, 3.0]
        );
        assert_eq!(
            Behaviour::Scaled.corrupt(&g, w.clone(), &a, &mut r),
            vec![11.0, -9.0]
        );
        assert_eq!(
            Behaviour::Lazy.corrupt(&g, w.clone(), &a, &mut r),
            g.to_vec()
        );
        assert_eq!(Behaviour::Honest.corrupt(&g, w.clone(), &a, &mut r), w);
        assert_eq!(Behaviour::LabelFlip.map_label(2, 10), 7);
        assert_eq!(
            Behaviour::from_label("sign_flip"),
            Some(Behaviour::SignFlip)
        );
    }
}
