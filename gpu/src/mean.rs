//! Coordinate-wise aggregation of a round's models, one invocation per
//! coordinate summing in model order, so one device always gives the same
//! bits: the weighted mean (FedAvg) and the trimmed mean (which with the
//! most trimming is the median). The trimmed mean ranks each value among
//! its coordinate's by `f32::total_cmp` (ties by model order) and keeps
//! the ranks in `[t, n − t)`: O(n²) reads per coordinate, no sort.

use wgpu::util::DeviceExt;

const WORKGROUP: u32 = 256;

const SHADER: &str = r#"
struct Params { models: u32, len: u32, trim: u32, mode: u32 };
@group(0) @binding(0) var<storage, read> data: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {
    let c = id.x + id.y * n.x * 256u;
    if (c >= p.len) { return; }
    var acc: f32 = 0.0;
    if (p.mode == 0u) {
        for (var m: u32 = 0u; m < p.models; m = m + 1u) {
            acc = acc + weights[m] * data[m * p.len + c];
        }
        out[c] = acc;
        return;
    }
    for (var j: u32 = 0u; j < p.models; j = j + 1u) {
        let kj = order_key(data[j * p.len + c]);
        var rank: u32 = 0u;
        for (var i: u32 = 0u; i < p.models; i = i + 1u) {
            let ki = order_key(data[i * p.len + c]);
            if (ki < kj || (ki == kj && i < j)) { rank = rank + 1u; }
        }
        if (rank >= p.trim && rank < p.models - p.trim) {
            acc = acc + data[j * p.len + c];
        }
    }
    out[c] = acc / f32(p.models - 2u * p.trim);
}

// f32::total_cmp's order as a signed integer.
fn order_key(x: f32) -> i32 {
    let b = bitcast<i32>(x);
    return b ^ bitcast<i32>(bitcast<u32>(b >> 31u) >> 1u);
}
"#;

/// The compiled kernel.
pub struct MeanKernel {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

impl MeanKernel {
    /// Compiles the kernel on `device`.
    pub fn new(device: &wgpu::Device) -> MeanKernel {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("weighted mean"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("weighted mean"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let layout = pipeline.get_bind_group_layout(0);
        MeanKernel { pipeline, layout }
    }

    /// Σ wᵢ·mᵢ with wᵢ normalised to sum to 1 (`trim` None), or the mean
    /// of each coordinate's values ranked in `[t, n − t)` (`trim` Some(t),
    /// weights ignored); chunked so that no binding exceeds `max_binding`
    /// bytes.
    pub fn run(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        models: &[&[f32]],
        weights: &[f64],
        trim: Option<usize>,
        max_binding: u64,
    ) -> Vec<f32> {
        let Some(first) = models.first() else {
            return Vec::new();
        };
        let len = first.len();
        let w: Vec<f32> = match trim {
            None => {
                let total: f64 = weights.iter().sum();
                weights.iter().map(|&x| (x / total) as f32).collect()
            }
            Some(_) => vec![0.0; models.len()],
        };
        let mode = trim.map_or([0, 0], |t| [t as u32, 1]);
        let per_coordinate = (models.len() as u64 * 4).max(4);
        let mut chunk = ((max_binding / per_coordinate) as usize).clamp(1, len.max(1));
        if trim.is_some() {
            // n² comparisons per coordinate: at most about 2³² per
            // submission, so no single one runs for seconds.
            let n = models.len().max(1);
            chunk = chunk.min(((1usize << 32) / (n * n)).max(256));
        }
        let mut out = Vec::with_capacity(len);
        let weight_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("weights"),
            contents: bytemuck::cast_slice(&w),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let mut start = 0;
        while start < len {
            let n = chunk.min(len - start);
            let mut data = Vec::with_capacity(models.len() * n);
            for m in models {
                data.extend_from_slice(&m[start..start + n]);
            }
            let params = [models.len() as u32, n as u32, mode[0], mode[1]];
            out.extend(self.dispatch(device, queue, &data, &weight_buf, params));
            start += n;
        }
        out
    }

    /// One chunk: `params` = models, coordinates, trim, mode (0: weighted
    /// mean, 1: trimmed mean).
    fn dispatch(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        data: &[f32],
        weights: &wgpu::Buffer,
        params: [u32; 4],
    ) -> Vec<f32> {
        let len = params[1] as usize;
        let data_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("models"),
            contents: bytemuck::cast_slice(data),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let bytes = (len * 4) as u64;
        let out_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("mean"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let read_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let param_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck::cast_slice(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("weighted mean"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: data_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: weights.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: out_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: param_buf.as_entire_binding(),
                },
            ],
        });
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("weighted mean"),
        });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("weighted mean"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bind, &[]);
            // Workgroups in x up to 65,535, the rest in y.
            let groups = (len as u32).div_ceil(WORKGROUP);
            let x = groups.min(65_535);
            let y = groups.div_ceil(x);
            pass.dispatch_workgroups(x, y, 1);
        }
        encoder.copy_buffer_to_buffer(&out_buf, 0, &read_buf, 0, bytes);
        queue.submit([encoder.finish()]);
        let bytes = crate::train::read_back(device, &read_buf, bytes)
            .unwrap_or_else(|e| panic!("aggregation on the GPU: {e}"));
        bytemuck::cast_slice(&bytes).to_vec()
    }
}
