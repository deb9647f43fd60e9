//! GPU kernels for dmlsim's training backend, on wgpu: one code path for
//! NVIDIA, AMD, Intel and Apple GPUs (Vulkan, Metal, DX12) and Mesa's
//! software Vulkan (lavapipe) in CI.
//!
//! Today: finding an adapter ([`Gpu::new`], an error that names what was
//! tried when there is none) and the FedAvg aggregation kernel
//! ([`Gpu::weighted_mean`]), split into chunks that respect the device's
//! storage-binding limit. The training kernels follow (issue 14).

mod mean;

use std::fmt;

/// A GPU device and its queue, with what it is.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    /// Largest storage binding, bytes.
    max_binding: u64,
    mean: mean::MeanKernel,
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
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuError::NoAdapter { tried, detail } => write!(
                f,
                "no GPU adapter found (tried the {tried} backends: {detail}); on Linux without a GPU, install Mesa's software Vulkan (Debian: apt-get install mesa-vulkan-drivers libvulkan1)"
            ),
            GpuError::NoDevice { adapter, detail } => {
                write!(f, "the GPU adapter {adapter} refused a device: {detail}")
            }
        }
    }
}

impl std::error::Error for GpuError {}

/// What a device is, for run.json.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    /// The adapter's name (e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`).
    pub name: String,
    /// The driver and its version.
    pub driver: String,
    /// The graphics API (`Vulkan`, `Metal`, `Dx12`).
    pub backend: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `Cpu` (a software rasterizer), …
    pub device_type: String,
}

impl Gpu {
    /// The first adapter wgpu offers (high performance preferred), with a
    /// device at the adapter's own limits.
    pub fn new() -> Result<Gpu, GpuError> {
        let desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        let tried = format!("{:?}", desc.backends);
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
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let mean = mean::MeanKernel::new(&device);
        Ok(Gpu {
            device,
            queue,
            info,
            max_binding,
            mean,
        })
    }

    /// What the device is.
    pub fn summary(&self) -> AdapterSummary {
        AdapterSummary {
            name: self.info.name.clone(),
            driver: format!("{} {}", self.info.driver, self.info.driver_info)
                .trim()
                .to_string(),
            backend: format!("{:?}", self.info.backend),
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
        self.mean
            .run(&self.device, &self.queue, models, weights, max_binding)
    }
}

/// Whether GPU tests must find a device (`DMLSIM_REQUIRE_GPU` set, as in
/// CI): otherwise a machine without one skips them.
pub fn gpu_required() -> bool {
    std::env::var_os("DMLSIM_REQUIRE_GPU").is_some_and(|v| !v.is_empty() && v != "0")
}
