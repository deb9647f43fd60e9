//! GPU kernels for dmlsim's training backend, on wgpu: one code path for
//! NVIDIA, AMD, Intel and Apple GPUs (Vulkan, Metal, DX12) and Mesa's
//! software Vulkan (lavapipe) in CI.
//!
//! - [`Gpu::new`] finds an adapter, with an error that names what was
//!   tried when there is none;
//! - [`Gpu::train`] trains a round's clients batched, all of them at once
//!   per step (`train.wgsl`), and [`Gpu::score`] evaluates a model;
//! - [`Gpu::weighted_mean`] (FedAvg) and [`Gpu::trimmed_mean`] (trimmed
//!   mean and median) aggregate coordinate-wise, split into chunks that
//!   respect the device's storage-binding limit;
//! - [`GpuBackend`] puts them behind dmlsim's
//!   [`TrainingBackend`](dmlsim_models::backend::TrainingBackend).

mod backend;
mod mean;
mod train;

pub use backend::GpuBackend;
pub use dmlsim_models::backend::DeviceInfo;
use std::sync::Mutex;
pub use train::{ClientBatches, ClientOutcome, Sgd, Shape};

use std::fmt;

/// A GPU device and its queue, with what it is.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    /// Largest storage binding, bytes.
    max_binding: u64,
    mean: mean::MeanKernel,
    train: Mutex<train::TrainKernels>,
}

/// Why no GPU could be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpuError {
    /// No adapter on any backend this build supports.
    NoAdapter {
        /// The backends tried.
        tried: String,
        /// What wgpu said.
        detail: String,
    },
    /// An adapter was found but refused a device.
    NoDevice {
        /// The adapter.
        adapter: String,
        /// What wgpu said.
        detail: String,
    },
    /// A problem too large for the device's bindings.
    TooLarge {
        /// What did not fit.
        detail: String,
    },
    /// The device failed while running (lost, out of memory).
    Failed {
        /// What wgpu said.
        detail: String,
    },
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuError::NoAdapter { tried, detail } => write!(
                f,
                "no GPU adapter found (tried: {tried}; wgpu says: {detail}); on Linux without a GPU, install Mesa's software Vulkan (Debian: apt-get install mesa-vulkan-drivers libvulkan1)"
            ),
            GpuError::NoDevice { adapter, detail } => {
                write!(f, "the GPU adapter {adapter} refused a device: {detail}")
            }
            GpuError::TooLarge { detail } => write!(f, "too large for the GPU: {detail}"),
            GpuError::Failed { detail } => write!(f, "the GPU failed: {detail}"),
        }
    }
}

impl std::error::Error for GpuError {}

impl Gpu {
    /// The first adapter wgpu offers (high performance preferred), with a
    /// device at the adapter's own limits.
    pub fn new() -> Result<Gpu, GpuError> {
        let desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        let usable = desc.backends & wgpu::Instance::enabled_backend_features();
        let tried = wgpu::Backend::ALL
            .iter()
            .filter(|&&b| usable.contains(b.into()))
            .map(|b| b.to_str())
            .collect::<Vec<_>>()
            .join(", ");
        let instance = wgpu::Instance::new(desc);
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        }))
        .map_err(|e| GpuError::NoAdapter {
            tried,
            detail: e.to_string(),
        })?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("dmlsim"),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| GpuError::NoDevice {
            adapter: info.name.clone(),
            detail: e.to_string(),
        })?;
        // The kernels index f32 arrays with u32: at most 2³¹ bytes per
        // binding keeps every index far from wrapping.
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size)
            .min(1 << 31)
            / 4
            * 4;
        let mean = mean::MeanKernel::new(&device);
        let train = Mutex::new(train::TrainKernels::new(&device, &limits));
        Ok(Gpu {
            device,
            queue,
            info,
            max_binding,
            mean,
            train,
        })
    }

    /// What the device is.
    pub fn summary(&self) -> DeviceInfo {
        DeviceInfo {
            name: self.info.name.clone(),
            driver: format!("{} {}", self.info.driver, self.info.driver_info)
                .trim()
                .to_string(),
            api: format!("{:?}", self.info.backend),
            device_type: format!("{:?}", self.info.device_type),
        }
    }

    /// The largest storage binding the device allows, bytes.
    pub fn max_binding_bytes(&self) -> u64 {
        self.max_binding
    }

    /// FedAvg's weighted mean of `models` (all of one length) with
    /// `weights` (≥ 0, not all 0): per coordinate Σ wᵢ·mᵢ / Σ wᵢ, summed
    /// in model order in f32 (so one device gives one result). Models
    /// larger than a binding are split into chunks of coordinates.
    pub fn weighted_mean(&self, models: &[&[f32]], weights: &[f64]) -> Vec<f32> {
        self.weighted_mean_chunked(models, weights, self.max_binding)
    }

    /// [`Gpu::weighted_mean`] with bindings of at most `max_binding`
    /// bytes (tests force several chunks with a small value).
    pub fn weighted_mean_chunked(
        &self,
        models: &[&[f32]],
        weights: &[f64],
        max_binding: u64,
    ) -> Vec<f32> {
        self.mean.run(
            &self.device,
            &self.queue,
            models,
            weights,
            None,
            max_binding.min(self.max_binding),
        )
    }

    /// The coordinate-wise mean of `models` after dropping each
    /// coordinate's `trim` smallest and `trim` largest values (ordered by
    /// `f32::total_cmp`, ties by model order; `2·trim < models.len()`),
    /// summed in model order in f32. `trim = (n − 1) / 2` is the median
    /// (the mean of the two middle values for an even count).
    pub fn trimmed_mean(&self, models: &[&[f32]], trim: usize) -> Vec<f32> {
        self.trimmed_mean_chunked(models, trim, self.max_binding)
    }

    /// [`Gpu::trimmed_mean`] with bindings of at most `max_binding` bytes.
    pub fn trimmed_mean_chunked(
        &self,
        models: &[&[f32]],
        trim: usize,
        max_binding: u64,
    ) -> Vec<f32> {
        assert!(
            2 * trim < models.len().max(1),
            "trim {trim} of {} models",
            models.len()
        );
        self.mean.run(
            &self.device,
            &self.queue,
            models,
            &[],
            Some(trim),
            max_binding.min(self.max_binding),
        )
    }

    /// Trains every client from `global` (a `shape` network) on the rows
    /// of `x` (examples of `shape`'s input width, row by row) their
    /// batches name, with `sgd`; outcomes in client order. Clients train
    /// in groups that fit [`Gpu::max_binding_bytes`].
    pub fn train(
        &self,
        shape: &Shape,
        global: &[f32],
        x: &[f32],
        clients: &[ClientBatches],
        sgd: Sgd,
    ) -> Result<Vec<ClientOutcome>, GpuError> {
        self.train_chunked(shape, global, x, clients, sgd, self.max_binding)
    }

    /// [`Gpu::train`] with bindings of at most `max_binding` bytes (tests
    /// force several groups with a small value).
    pub fn train_chunked(
        &self,
        shape: &Shape,
        global: &[f32],
        x: &[f32],
        clients: &[ClientBatches],
        sgd: Sgd,
        max_binding: u64,
    ) -> Result<Vec<ClientOutcome>, GpuError> {
        let mut k = self.train.lock().unwrap_or_else(|e| e.into_inner());
        k.train(
            &self.device,
            &self.queue,
            max_binding.min(self.max_binding),
            shape,
            global,
            x,
            clients,
            sgd,
        )
    }

    /// Each example's probability of its label under `params` and whether
    /// the arg-max class is its label, in batches of
    /// [`EVAL_BATCH`](dmlsim_models::nn::EVAL_BATCH), as on the CPU.
    pub fn score(
        &self,
        shape: &Shape,
        params: &[f32],
        x: &[f32],
        labels: &[u32],
    ) -> Result<Vec<(f32, bool)>, GpuError> {
        let mut k = self.train.lock().unwrap_or_else(|e| e.into_inner());
        k.score(
            &self.device,
            &self.queue,
            self.max_binding,
            shape,
            params,
            x,
            labels,
            dmlsim_models::nn::EVAL_BATCH,
        )
    }
}

/// The device for a test: None (with a note) when there is none and
/// [`gpu_required`] is false; a panic naming what was tried when one is
/// required.
pub fn test_gpu() -> Option<Gpu> {
    match Gpu::new() {
        Ok(g) => Some(g),
        Err(e) if gpu_required() => panic!("DMLSIM_REQUIRE_GPU is set: {e}"),
        Err(e) => {
            eprintln!("skipped: {e}");
            None
        }
    }
}

/// Whether GPU tests must find a device (`DMLSIM_REQUIRE_GPU` set, as in
/// CI): otherwise a machine without one skips them.
pub fn gpu_required() -> bool {
    std::env::var_os("DMLSIM_REQUIRE_GPU").is_some_and(|v| !v.is_empty() && v != "0")
}
