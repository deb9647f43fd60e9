//! Builds the learner a run uses from the scenario: loads or generates the
//! data (reading CSV, Arrow and Parquet files relative to the scenario),
//! splits and standardises it, partitions it over the nodes and sets up the
//! model, training and aggregation.

use crate::engine::rng::stream;
use crate::scenario::{
    AggregationSpec, BackendSpec, CompressionSpec, DatasetSpec, FileDataSpec, LearningSpec,
    ModelSpec, PartitionSpec, Scenario,
};
use crate::world::Nodes;
use arrow_array::{Array, RecordBatch, cast::AsArray, types::*};
use arrow_schema::DataType;
use dmlsim_models::aggregate::Rule;
use dmlsim_models::backend::TrainingBackend;
use dmlsim_models::behaviour::AttackParams;
use dmlsim_models::compress::Compression;
use dmlsim_models::data::table::{Cells, ColumnPick, from_columns, parse_csv_reader};
use dmlsim_models::data::{Dataset, Standardizer, digits, synthetic};
use dmlsim_models::learning::{FederatedLearner, FlConfig, Learner, LogicalSize, TimingOnly};
use dmlsim_models::nn::Mlp;
use dmlsim_models::partition::{Scheme, partition};
use dmlsim_models::train::LocalConfig;
use std::path::Path;

/// A problem found while building the learner: field path and message.
pub type SetupProblem = (String, String);

/// Most parameters of the real (trained) model; larger models are declared
/// as a `logical_model` and stood in for by a small real one.
pub const MAX_REAL_PARAMETERS: usize = 20_000_000;

/// The learner for a scenario: timing-only without a `learning` section.
pub fn build_learner(
    s: &Scenario,
    base_dir: &Path,
    nodes: &Nodes,
) -> Result<Box<dyn Learner + Send>, SetupProblem> {
    let Some(l) = &s.learning else {
        return Ok(Box::new(TimingOnly {
            work_flops: s.rounds.client_flops.unwrap_or(0.0),
        }));
    };
    let data = load_dataset(l, base_dir, s.seeds().training)?;
    if data.len() < 2 {
        return Err((
            "learning.dataset".into(),
            "the dataset needs at least two examples".into(),
        ));
    }
    let (mut train, mut test) =
        data.split(l.test_fraction, &mut stream(s.seeds().training, "split", 0));
    if l.standardize {
        let st = Standardizer::fit(&train);
        st.apply(&mut train);
        st.apply(&mut test);
    }
    let scheme = match &l.partition {
        PartitionSpec::Iid => Scheme::Iid,
        PartitionSpec::Dirichlet { alpha } => Scheme::Dirichlet { alpha: *alpha },
        PartitionSpec::QuantitySkew { sigma } => Scheme::QuantitySkew { sigma: *sigma },
        PartitionSpec::Shards { per_client } => Scheme::Shards {
            per_client: *per_client as usize,
        },
    };
    let shards = partition(
        &scheme,
        &train.y,
        train.classes,
        nodes.len(),
        l.samples_per_node.map(|n| n as usize),
        &mut stream(s.seeds().training, "partition", 0),
    );
    let model = checked_model(&l.model, train.dim(), train.classes)?;
    let cfg = fl_config(l);
    let backend = match l.backend {
        BackendSpec::Ndarray => None,
        BackendSpec::Gpu => {
            let largest = shards.iter().map(Vec::len).max().unwrap_or(0);
            Some(gpu_backend(&model, largest, test.len(), &cfg.local)?)
        }
    };
    let learner = FederatedLearner::new(
        model,
        train,
        test,
        shards,
        nodes.behaviour.clone(),
        cfg,
        s.seeds().training,
    );
    Ok(Box::new(match backend {
        Some(b) => learner.with_backend(b),
        None => learner,
    }))
}

/// The wgpu backend on the first adapter found, checked to hold one
/// training step of the largest client (`largest` examples) and one
/// evaluation batch of the test set in its bindings.
#[cfg(feature = "gpu")]
fn gpu_backend(
    model: &Mlp,
    largest: usize,
    test: usize,
    local: &LocalConfig,
) -> Result<Box<dyn TrainingBackend>, SetupProblem> {
    let problem = |e: dmlsim_gpu::GpuError| ("learning.backend".to_string(), e.to_string());
    let backend = dmlsim_gpu::GpuBackend::new().map_err(problem)?;
    backend
        .check(model, largest, test, local)
        .map_err(problem)?;
    Ok(Box::new(backend))
}

/// Without the `gpu` feature there is no GPU backend.
#[cfg(not(feature = "gpu"))]
fn gpu_backend(
    _: &Mlp,
    _: usize,
    _: usize,
    _: &LocalConfig,
) -> Result<Box<dyn TrainingBackend>, SetupProblem> {
    Err((
        "learning.backend".into(),
        "this dmlsim was built without the `gpu` feature (rebuild without `--no-default-features`, or with `--features gpu`)".into(),
    ))
}

/// The network for the model spec, refused (at `learning.model`) when it
/// exceeds [`MAX_REAL_PARAMETERS`]; `validate` checks the same.
pub fn checked_model(spec: &ModelSpec, inputs: usize, classes: usize) -> Result<Mlp, SetupProblem> {
    let model = model_for(spec, inputs, classes);
    if model.num_params() > MAX_REAL_PARAMETERS {
        return Err((
            "learning.model".into(),
            format!(
                "the model has {} parameters for {inputs} features and {classes} classes; real models are limited to {MAX_REAL_PARAMETERS} (declare `logical_model` to stand in for a large one)",
                model.num_params(),
            ),
        ));
    }
    Ok(model)
}

/// The network for the model spec.
pub fn model_for(spec: &ModelSpec, inputs: usize, classes: usize) -> Mlp {
    match spec {
        ModelSpec::Logistic => Mlp::logistic(inputs, classes),
        ModelSpec::Mlp { hidden } => {
            let mut sizes = vec![inputs];
            sizes.extend(hidden.iter().map(|&h| h as usize));
            sizes.push(classes);
            Mlp::new(sizes)
        }
    }
}

fn fl_config(l: &LearningSpec) -> FlConfig {
    FlConfig {
        local: LocalConfig {
            epochs: l.local.epochs,
            batch_size: l.local.batch_size as usize,
            learning_rate: l.local.learning_rate as f32,
            momentum: l.local.momentum as f32,
            weight_decay: l.local.weight_decay as f32,
            prox_mu: l.local.prox_mu as f32,
        },
        rule: match &l.aggregation {
            AggregationSpec::Fedavg => Rule::FedAvg,
            AggregationSpec::Median => Rule::Median,
            AggregationSpec::TrimmedMean { beta } => Rule::TrimmedMean { beta: *beta },
            AggregationSpec::Krum { f } => Rule::Krum { f: *f as usize },
            AggregationSpec::MultiKrum { f, m } => Rule::MultiKrum {
                f: *f as usize,
                m: *m as usize,
            },
        },
        server_lr: l.server_learning_rate as f32,
        compression: match &l.compression {
            CompressionSpec::None => Compression::None,
            CompressionSpec::TopK { fraction } => Compression::TopK {
                fraction: *fraction,
            },
            CompressionSpec::Quantize8bit => Compression::Quantize8,
        },
        precision_bytes: l.precision_bytes,
        logical: l.logical_model.as_ref().map(|m| LogicalSize {
            parameters: m.parameters,
            flops_per_sample: m.flops_per_sample.unwrap_or(6.0 * m.parameters),
        }),
        attack: AttackParams {
            sign_flip_scale: l.attacks.sign_flip_scale as f32,
            scale_factor: l.attacks.scale_factor as f32,
            noise_std: l.attacks.noise_std as f32,
        },
    }
}

/// Loads or generates the dataset of a learning section.
pub fn load_dataset(l: &LearningSpec, base_dir: &Path, seed: u64) -> Result<Dataset, SetupProblem> {
    let mut rng = stream(seed, "dataset", 0);
    Ok(match &l.dataset {
        DatasetSpec::Digits => digits::load(),
        DatasetSpec::GaussianMixture {
            classes,
            dim,
            separation,
            samples,
        } => synthetic::gaussian_mixture(
            *classes as usize,
            *dim as usize,
            *separation,
            *samples as usize,
            &mut rng,
        ),
        DatasetSpec::TeacherStudent {
            classes,
            dim,
            hidden,
            samples,
        } => synthetic::teacher_student(
            *classes as usize,
            *dim as usize,
            *hidden as usize,
            *samples as usize,
            &mut rng,
        ),
        DatasetSpec::Csv(f) => read_table(f, base_dir, "csv", |file| {
            parse_csv_reader(std::io::BufReader::new(file), &f.path, None, &pick(f))
        })?,
        DatasetSpec::Arrow(f) => read_table(f, base_dir, "arrow", |file| {
            arrow_dataset(file, &f.path, &pick(f))
        })?,
        DatasetSpec::Parquet(f) => read_table(f, base_dir, "parquet", |file| {
            parquet_dataset(file, &f.path, &pick(f))
        })?,
    })
}

/// Runs a third-party decoder that may panic on malformed input (the
/// Arrow and Parquet readers assert on some corrupt files — found by
/// fuzzing) and turns a panic into an error, without printing it.
pub(crate) fn decode_guarded<T>(
    what: &str,
    f: impl FnOnce() -> Result<T, String>,
) -> Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    result.unwrap_or_else(|_| {
        Err(format!(
            "not a valid {what} file (its decoder failed on it)"
        ))
    })
}

/// Checks that an Arrow IPC file's footer and every block it lists lie
/// inside the file, before the reader allocates what they claim (a 348-byte
/// corrupt file made it allocate 4 GB — found by fuzzing). Errors the
/// reader reports better are left to it.
pub(crate) fn check_arrow_extents(
    file: &mut (impl std::io::Read + std::io::Seek),
) -> Result<(), String> {
    use std::io::SeekFrom;
    let corrupt = |what: String| format!("not a valid Arrow IPC file: {what}");
    let len = file.seek(SeekFrom::End(0)).map_err(|e| e.to_string())?;
    let mut trailer = [0u8; 10];
    if len >= 10 {
        file.seek(SeekFrom::End(-10)).map_err(|e| e.to_string())?;
        file.read_exact(&mut trailer).map_err(|e| e.to_string())?;
        if let Ok(footer_len) = arrow_ipc::reader::read_footer_length(trailer) {
            if footer_len as u64 + 10 > len {
                return Err(corrupt(format!(
                    "its footer claims {footer_len} bytes of a {len}-byte file"
                )));
            }
            let mut footer = vec![0u8; footer_len];
            file.seek(SeekFrom::End(-10 - footer_len as i64))
                .map_err(|e| e.to_string())?;
            file.read_exact(&mut footer).map_err(|e| e.to_string())?;
            if let Ok(footer) = arrow_ipc::root_as_footer(&footer) {
                let blocks = footer.recordBatches().into_iter().flatten();
                for b in blocks.chain(footer.dictionaries().into_iter().flatten()) {
                    let end = i128::from(b.offset())
                        + i128::from(b.metaDataLength())
                        + i128::from(b.bodyLength());
                    let negative = b.offset() < 0 || b.metaDataLength() < 0 || b.bodyLength() < 0;
                    if negative || end > i128::from(len) {
                        return Err(corrupt(format!(
                            "a block reaches byte {end} of a {len}-byte file"
                        )));
                    }
                }
            }
        }
    }
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    Ok(())
}

/// A dataset from an Arrow IPC file's bytes (the `arrow` dataset kind).
pub fn arrow_dataset(
    mut file: impl std::io::Read + std::io::Seek,
    name: &str,
    pick: &ColumnPick,
) -> Result<Dataset, String> {
    check_arrow_extents(&mut file)?;
    let batches = decode_guarded("Arrow IPC", || {
        let reader = arrow_ipc::reader::FileReader::try_new(file, None)
            .map_err(|e| format!("not an Arrow IPC file: {e}"))?;
        reader
            .collect::<Result<Vec<RecordBatch>, _>>()
            .map_err(|e| e.to_string())
    })?;
    from_columns(name, &batches_to_cells(&batches)?, pick)
}

/// A dataset from a Parquet file's bytes (the `parquet` dataset kind).
pub fn parquet_dataset(
    file: impl parquet::file::reader::ChunkReader + 'static,
    name: &str,
    pick: &ColumnPick,
) -> Result<Dataset, String> {
    let batches = decode_guarded("Parquet", || {
        let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| format!("not a readable Parquet file: {e}"))?;
        check_parquet_extent(builder.metadata(), crate::input::data_limit())?;
        let reader = builder
            .build()
            .map_err(|e| format!("not a readable Parquet file: {e}"))?;
        reader
            .collect::<Result<Vec<RecordBatch>, _>>()
            .map_err(|e| e.to_string())
    })?;
    from_columns(name, &batches_to_cells(&batches)?, pick)
}

/// Refuses a Parquet file whose decoded size — as its metadata declares
/// it: rows × columns × 8 bytes, or the row groups' uncompressed bytes —
/// exceeds `limit`: a few hundred compressed bytes can declare billions of
/// rows (a 981-byte file found by the fuzzer made the decoder allocate
/// 9 GB).
pub(crate) fn check_parquet_extent(
    meta: &parquet::file::metadata::ParquetMetaData,
    limit: u64,
) -> Result<(), String> {
    let columns = meta.file_metadata().schema_descr().num_columns() as u64;
    let mut rows = 0u64;
    let mut bytes = 0u64;
    for g in meta.row_groups() {
        rows = rows.saturating_add(u64::try_from(g.num_rows()).unwrap_or(u64::MAX));
        let chunks = g.columns().iter().fold(0u64, |a, c| {
            a.saturating_add(u64::try_from(c.uncompressed_size()).unwrap_or(u64::MAX))
        });
        let group = u64::try_from(g.total_byte_size()).unwrap_or(u64::MAX);
        bytes = bytes.saturating_add(group.max(chunks));
    }
    let cells = rows.saturating_mul(columns.max(1)).saturating_mul(8);
    let declared = cells.max(bytes);
    if declared > limit {
        return Err(format!(
            "the file declares {rows} rows of {columns} columns ({declared} bytes decoded), beyond the data limit of {limit} bytes ({} to raise it)",
            crate::input::DATA_LIMIT_VAR
        ));
    }
    Ok(())
}

fn pick(f: &FileDataSpec) -> ColumnPick {
    ColumnPick::Named {
        label: f.label.clone(),
        features: f.features.clone(),
    }
}

fn read_table(
    f: &FileDataSpec,
    base_dir: &Path,
    kind: &str,
    read: impl FnOnce(std::fs::File) -> Result<Dataset, String>,
) -> Result<Dataset, SetupProblem> {
    let path = base_dir.join(&f.path);
    let at = format!("learning.dataset.{kind}.path");
    let file = crate::input::open_data_file(&path, crate::input::data_limit())
        .map_err(|e| (at.clone(), format!("cannot read `{}`: {e}", path.display())))?;
    read(file).map_err(|e| {
        (
            format!("learning.dataset.{kind}"),
            format!("`{}`: {e}", path.display()),
        )
    })
}

/// Turns record batches into named columns of numbers or text.
fn batches_to_cells(batches: &[RecordBatch]) -> Result<Vec<(String, Cells)>, String> {
    let Some(first) = batches.first() else {
        return Err("the file holds no record batches".into());
    };
    let schema = first.schema();
    let mut out = Vec::new();
    for (c, field) in schema.fields().iter().enumerate() {
        let name = field.name().clone();
        let numeric = !matches!(
            field.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Dictionary(..)
        );
        let mut nums = Vec::new();
        let mut text = Vec::new();
        let mut row = 0;
        for b in batches {
            let a = b.column(c);
            if let Some(i) = a
                .logical_nulls()
                .and_then(|n| n.iter().position(|valid| !valid))
            {
                return Err(format!(
                    "column `{name}`, row {}: missing value; drop or fill such rows",
                    row + i + 1
                ));
            }
            row += a.len();
            macro_rules! push {
                ($t:ty) => {
                    nums.extend(a.as_primitive::<$t>().values().iter().map(|&v| v as f64))
                };
            }
            match a.data_type() {
                DataType::Float64 => push!(Float64Type),
                DataType::Float32 => push!(Float32Type),
                DataType::Int64 => push!(Int64Type),
                DataType::Int32 => push!(Int32Type),
                DataType::Int16 => push!(Int16Type),
                DataType::Int8 => push!(Int8Type),
                DataType::UInt64 => push!(UInt64Type),
                DataType::UInt32 => push!(UInt32Type),
                DataType::UInt16 => push!(UInt16Type),
                DataType::UInt8 => push!(UInt8Type),
                DataType::Utf8 => text.extend(
                    a.as_string::<i32>()
                        .iter()
                        .map(|s| s.unwrap_or("").to_string()),
                ),
                DataType::LargeUtf8 => text.extend(
                    a.as_string::<i64>()
                        .iter()
                        .map(|s| s.unwrap_or("").to_string()),
                ),
                // Categorical columns (pandas' `category`, Polars' `Categorical`).
                DataType::Dictionary(_, value)
                    if matches!(**value, DataType::Utf8 | DataType::LargeUtf8) =>
                {
                    let dict = a.as_any_dictionary();
                    let values = dict.values();
                    let label = |k: usize| match **value {
                        DataType::Utf8 => values.as_string::<i32>().value(k).to_string(),
                        _ => values.as_string::<i64>().value(k).to_string(),
                    };
                    text.extend(dict.normalized_keys().into_iter().map(label));
                }
                other => {
                    return Err(format!(
                        "column `{name}` has type {other}; expected numbers, text or categories"
                    ));
                }
            }
        }
        out.push((
            name,
            if numeric {
                Cells::Numbers(nums)
            } else {
                Cells::Text(text)
            },
        ));
    }
    Ok(out)
}
