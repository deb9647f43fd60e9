//! Token-price models from a scenario, reading CSV series relative to the
//! scenario file.

use crate::engine::rng::stream_key;
use crate::scenario::{EconomicsSpec, PriceSpec};
use dmlsim_models::econ::price::PriceModel;

/// The token-price model of a spec, reading a CSV series relative to
/// `base_dir`; errors name the field.
pub fn price_model(
    spec: &EconomicsSpec,
    base_dir: &std::path::Path,
    price_seed: u64,
) -> Result<PriceModel, (String, String)> {
    Ok(match &spec.token_price {
        PriceSpec::Constant { usd } => PriceModel::Constant { usd: *usd },
        // The pool sets the price; the path only holds the genesis price.
        PriceSpec::Amm { initial_usd, .. } => PriceModel::Constant { usd: *initial_usd },
        PriceSpec::Gbm {
            initial_usd,
            mu,
            sigma,
            step,
        } => PriceModel::Gbm {
            initial_usd: *initial_usd,
            mu: *mu,
            sigma: *sigma,
            step_s: step.time().as_secs_f64(),
            key: stream_key(price_seed, "token-price", 0),
        },
        PriceSpec::Series { points } => PriceModel::Series {
            points: points
                .iter()
                .map(|p| (p.t.time().as_secs_f64(), p.usd))
                .collect(),
        },
        PriceSpec::Csv { path } => {
            let full = base_dir.join(path);
            let at = "economics.token_price.csv.path".to_string();
            let text = crate::input::open_data_file(&full, crate::input::data_limit())
                .and_then(|mut f| {
                    // A regular file within the limit (checked on opening).
                    let mut text = String::new();
                    std::io::Read::read_to_string(&mut f, &mut text).map_err(|e| e.to_string())?;
                    Ok(text)
                })
                .map_err(|e| (at.clone(), format!("cannot read `{}`: {e}", full.display())))?;
            let mut points: Vec<(f64, f64)> = Vec::new();
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let cells: Vec<&str> = line.split(',').map(str::trim).collect();
                let parsed = match cells.as_slice() {
                    [t, p] => t.parse::<f64>().ok().zip(p.parse::<f64>().ok()),
                    _ => None,
                };
                match parsed {
                    Some((t, p)) if t.is_finite() && p.is_finite() && p >= 0.0 => {
                        if points.last().is_some_and(|l| t <= l.0) {
                            return Err((
                                at,
                                format!("`{}` line {}: times must increase", full.display(), i + 1),
                            ));
                        }
                        points.push((t, p));
                    }
                    None if i == 0 => {} // a header line
                    _ => {
                        return Err((
                            at,
                            format!(
                                "`{}` line {}: expected `t_s,usd`, found `{line}`",
                                full.display(),
                                i + 1
                            ),
                        ));
                    }
                }
            }
            if points.is_empty() {
                return Err((at, format!("`{}` holds no price points", full.display())));
            }
            PriceModel::Series { points }
        }
    })
}
