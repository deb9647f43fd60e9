//! The weighted mean of a round's models (FedAvg's aggregation): one
//! invocation per coordinate sums the models in order, so one device
//! always gives the same bits.

use wgpu::util::DeviceExt;

const WORKGROUP: u32 = 256;

const SHADER: &str = r#"
struct Params { models: u32, len: u32, offset: u32, pad: u32 };
@group(0) @binding(0) var<storage, read> data: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {
    let c = id.x + id.y * n.x * 256u;
    if (c >= p.len) { return; }
    var acc: f32 = 0.0;
    for (var m: u32 = 0u; m < p.models; m = m + 1u) {
        acc = acc + weights[m] * data[m * p.len + c];
    }
    out[c] = acc;
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

    /// Σ wᵢ·mᵢ with wᵢ normalised to sum to 1, chunked so that no binding
    /// exceeds `max_binding` bytes.
    pub fn run(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        models: &[&[f32]],
        weights: &[f64],
        max_binding: u64,
    ) -> Vec<f32> {
        let Some(first) = models.first() else {
            return Vec::new();
        };
        let len = first.len();
        let total: f64 = weights.iter().sum();
        let w: Vec<f32> = weights.iter().map(|&x| (x / total) as f32).collect();
        let per_coordinate = (models.len() as u64 * 4).max(4);
        let chunk = ((max_binding / per_coordinate) as usize).clamp(1, len.max(1));
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
            out.extend(self.dispatch(device, queue, &data, &weight_buf, models.len(), n));
            start += n;
        }
        out
    }

    fn dispatch(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        data: &[f32],
        weights: &wgpu::Buffer,
        models: usize,
        len: usize,
    ) -> Vec<f32> {
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
        let params: [u32; 4] = [models as u32, len as u32, 0, 0];
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
        let slice = read_buf.slice(..);
        slice.map_async(wgpu::MapMode::Read, |r| r.expect("readback maps"));
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("the device finishes");
        let mapped = slice.get_mapped_range().expect("the readback is mapped");
        let result: Vec<f32> = bytemuck::cast_slice(&mapped).to_vec();
        drop(mapped);
        read_buf.unmap();
        result
    }
}
