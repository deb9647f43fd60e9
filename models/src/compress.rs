//! Update compression: what goes on the wire and what the aggregator then
//! sees. Top-k sparsification keeps the largest changes; 8-bit quantization
//! rounds every change to one of 255 levels.

/// How client updates are compressed.
#[derive(Clone, Debug, PartialEq)]
pub enum Compression {
    /// Full-precision updates.
    None,
    /// Keep the `fraction` of coordinates with the largest |update|; each
    /// kept value is sent with a 4-byte index.
    TopK {
        /// Fraction kept, in (0, 1].
        fraction: f64,
    },
    /// Linear 8-bit quantization of the update with one 4-byte scale.
    Quantize8,
}

impl Compression {
    /// Name for outputs.
    pub fn label(&self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::TopK { .. } => "top_k",
            Compression::Quantize8 => "quantize_8bit",
        }
    }

    /// Bytes on the wire for an update of `params` values of `precision_bytes` each.
    pub fn wire_bytes(&self, params: f64, precision_bytes: f64) -> u64 {
        let b = match self {
            Compression::None => params * precision_bytes,
            Compression::TopK { fraction } => {
                (params * fraction).ceil().max(1.0) * (precision_bytes + 4.0)
            }
            Compression::Quantize8 => params + 4.0,
        };
        b.round() as u64
    }

    /// The model the aggregator reconstructs from what `sent` compresses to.
    pub fn apply(&self, global: &[f32], sent: Vec<f32>) -> Vec<f32> {
        match self {
            Compression::None => sent,
            Compression::TopK { fraction } => {
                let p = sent.len();
                let k = ((p as f64 * fraction).ceil() as usize).clamp(1, p);
                let delta: Vec<f32> = sent.iter().zip(global).map(|(s, g)| s - g).collect();
                let mut order: Vec<usize> = (0..p).collect();
                order.sort_by(|&a, &b| delta[b].abs().total_cmp(&delta[a].abs()).then(a.cmp(&b)));
                let mut out = global.to_vec();
                for &i in &order[..k] {
                    out[i] = global[i] + delta[i];
                }
                out
            }
            Compression::Quantize8 => {
                let delta: Vec<f32> = sent.iter().zip(global).map(|(s, g)| s - g).collect();
                let max = delta.iter().fold(0f32, |m, d| m.max(d.abs()));
                if max == 0.0 {
                    return global.to_vec();
                }
                let scale = max / 127.0;
                global
                    .iter()
                    .zip(delta)
                    .map(|(g, d)| g + (d / scale).round().clamp(-127.0, 127.0) * scale)
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_the_largest_changes() {
        let g = vec![0.0f32; 5];
        let sent = vec![0.1, -3.0, 0.5, 2.0, -0.2];
        let out = Compression::TopK { fraction: 0.4 }.apply(&g, sent);
        assert_eq!(out, vec![0.0, -3.0, 0.0, 2.0, 0.0]);
        // 2 of 5 values, 4 + 4 bytes each.
        assert_eq!(Compression::TopK { fraction: 0.4 }.wire_bytes(5.0, 4.0), 16);
    }

    #[test]
    fn quantization_error_is_at_most_half_a_step() {
        let g = vec![1.0f32; 4];
        let sent = vec![1.0, 2.27, 0.5, 1.001];
        let out = Compression::Quantize8.apply(&g, sent.clone());
        let step = 1.27 / 127.0;
        for (o, s) in out.iter().zip(&sent) {
            assert!((o - s).abs() <= step / 2.0 + 1e-6, "{o} vs {s}");
        }
        assert_eq!(Compression::Quantize8.wire_bytes(1000.0, 4.0), 1004);
        assert_eq!(Compression::None.wire_bytes(1000.0, 2.0), 2000);
    }
}
