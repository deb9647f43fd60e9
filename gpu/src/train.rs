//! Batched local training and evaluation (`train.wgsl`): a round's clients
//! train in lockstep, each step one dispatch per layer and pass over every
//! client's next mini-batch. Clients are split into groups whose buffers
//! fit the device's binding limit; buffers are kept and reused across
//! calls.

use crate::GpuError;
use rayon::prelude::*;
use std::borrow::Cow;

const WORKGROUP: u32 = 64;
const SHADER: &str = include_str!("train.wgsl");
/// Most SGD steps in one submission: bounds the step-uniform buffer and
/// how long the device runs without returning (drivers reset a GPU that
/// runs one submission for seconds).
const MAX_STEPS_PER_SUBMIT: usize = 256;
/// Most bytes a group of clients may occupy on the device in all.
const GROUP_BUDGET: u64 = 1 << 30;

/// SGD settings (as `dmlsim_models::train::LocalConfig`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    /// Step size.
    pub learning_rate: f32,
    /// Heavy-ball momentum (0 switches the buffer off).
    pub momentum: f32,
    /// L2 coefficient.
    pub weight_decay: f32,
    /// FedProx coefficient.
    pub prox_mu: f32,
}

impl From<&dmlsim_models::train::LocalConfig> for Sgd {
    fn from(cfg: &dmlsim_models::train::LocalConfig) -> Sgd {
        Sgd {
            learning_rate: cfg.learning_rate,
            momentum: cfg.momentum,
            weight_decay: cfg.weight_decay,
            prox_mu: cfg.prox_mu,
        }
    }
}

/// One client's mini-batches, in training order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientBatches {
    /// Each step's rows of the example matrix.
    pub rows: Vec<Vec<u32>>,
    /// Each step's labels (already remapped by the client's behaviour).
    pub labels: Vec<Vec<u32>>,
}

impl ClientBatches {
    /// Its steps `start..end` (fewer, or none, where it has fewer steps).
    fn window(&self, start: usize, end: usize) -> ClientBatches {
        let end = end.min(self.rows.len());
        let start = start.min(end);
        ClientBatches {
            rows: self.rows[start..end].to_vec(),
            labels: self.labels[start..end].to_vec(),
        }
    }
}

/// One client's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientOutcome {
    /// Parameters after its last step.
    pub params: Vec<f32>,
    /// Per step, each example's probability of its label (before the step's
    /// update).
    pub label_probs: Vec<Vec<f32>>,
    /// Per step, whether each example's arg-max class was its label.
    pub hits: Vec<Vec<bool>>,
}

/// A network's shape: `sizes = [inputs, hidden…, classes]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    sizes: Vec<usize>,
}

impl Shape {
    /// The network with these layer sizes (at least two, all positive).
    pub fn new(sizes: &[usize]) -> Shape {
        assert!(sizes.len() >= 2 && sizes.iter().all(|&s| s > 0));
        Shape {
            sizes: sizes.to_vec(),
        }
    }

    /// Parameters, layer by layer (weights `in × out`, then biases).
    pub fn params(&self) -> usize {
        self.sizes.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
    }

    /// Sum of the layers' outputs (activations per example).
    fn stride(&self) -> usize {
        self.sizes[1..].iter().sum()
    }

    fn layers(&self) -> usize {
        self.sizes.len() - 1
    }

    /// Bytes one client needs in each binding, for `steps` steps of
    /// `batch` rows: the largest is what limits a group.
    fn per_client_bytes(&self, steps: usize, batch: usize) -> [u64; 5] {
        let (s, b) = (steps as u64, batch as u64);
        [
            4 * self.params() as u64,         // w, v, g each
            4 * s * b * self.sizes[0] as u64, // xb
            4 * (s * b + s),                  // meta
            4 * 2 * b * self.stride() as u64, // work
            4 * 2 * s * b,                    // out
        ]
    }

    /// The largest binding one client of `steps` × `batch` needs, bytes.
    pub fn client_binding_bytes(&self, steps: usize, batch: usize) -> u64 {
        self.per_client_bytes(steps, batch)
            .into_iter()
            .max()
            .unwrap_or(0)
    }

    /// How many clients of `steps` × `batch` fit one group under
    /// `max_binding` bytes per binding (0: not even one).
    pub fn clients_per_group(&self, steps: usize, batch: usize, max_binding: u64) -> usize {
        let per = self.per_client_bytes(steps, batch);
        let total: u64 = per.iter().sum::<u64>() + 2 * per[0];
        let by_binding = per
            .iter()
            .map(|&b| max_binding / b.max(1))
            .min()
            .unwrap_or(0);
        // The budget bounds a group's memory, never below one client.
        by_binding.min((GROUP_BUDGET / total.max(1)).max(1)) as usize
    }

    /// Checks that one client of `steps` × `batch` fits a binding.
    pub fn check_fits(&self, steps: usize, batch: usize, max_binding: u64) -> Result<(), GpuError> {
        if self.clients_per_group(steps, batch, max_binding) == 0 {
            return Err(GpuError::TooLarge {
                detail: format!(
                    "one client of a {}-parameter model taking {steps} step(s) of {batch} examples at once needs a {}-byte binding; the device allows {max_binding}",
                    self.params(),
                    self.client_binding_bytes(steps, batch)
                ),
            });
        }
        Ok(())
    }
}

/// Per-layer values the kernels read (`Dims` in the shader).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    u: [u32; 16],
    f: [f32; 4],
}

/// A reusable device buffer that grows on demand.
struct Slot {
    buffer: Option<wgpu::Buffer>,
    usage: wgpu::BufferUsages,
    label: &'static str,
}

impl Slot {
    fn new(label: &'static str, usage: wgpu::BufferUsages) -> Slot {
        Slot {
            buffer: None,
            usage,
            label,
        }
    }

    /// The buffer, at least `bytes` long (at least 16).
    fn ensure(&mut self, device: &wgpu::Device, bytes: u64) -> &wgpu::Buffer {
        let bytes = bytes.max(16).next_multiple_of(4);
        if self.buffer.as_ref().is_none_or(|b| b.size() < bytes) {
            self.buffer = Some(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(self.label),
                size: bytes,
                usage: self.usage,
                mapped_at_creation: false,
            }));
        }
        self.buffer.as_ref().expect("just made")
    }
}

/// The compiled kernels and their buffers.
pub struct TrainKernels {
    forward: wgpu::ComputePipeline,
    softmax: wgpu::ComputePipeline,
    weight_grad: wgpu::ComputePipeline,
    input_grad: wgpu::ComputePipeline,
    update: wgpu::ComputePipeline,
    data_layout: wgpu::BindGroupLayout,
    uniform_layout: wgpu::BindGroupLayout,
    align: u64,
    slots: Slots,
}

struct Slots {
    xb: Slot,
    meta: Slot,
    global: Slot,
    w: Slot,
    v: Slot,
    g: Slot,
    work: Slot,
    out: Slot,
    dims: Slot,
    steps: Slot,
    read_params: Slot,
    read_probs: Slot,
}

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: true,
            min_binding_size: None,
        },
        count: None,
    }
}

impl TrainKernels {
    /// Compiles the kernels on `device`.
    pub fn new(device: &wgpu::Device, limits: &wgpu::Limits) -> TrainKernels {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("train"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let data_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("train data"),
            entries: &[
                storage_entry(0, true),
                storage_entry(1, true),
                storage_entry(2, true),
                storage_entry(3, false),
                storage_entry(4, false),
                storage_entry(5, false),
                storage_entry(6, false),
                storage_entry(7, false),
            ],
        });
        let uniform_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("train dims"),
            entries: &[uniform_entry(0), uniform_entry(1)],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("train"),
            bind_group_layouts: &[Some(&data_layout), Some(&uniform_layout)],
            immediate_size: 0,
        });
        let pipeline = |entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&layout),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        use wgpu::BufferUsages as U;
        let storage = U::STORAGE | U::COPY_DST | U::COPY_SRC;
        TrainKernels {
            forward: pipeline("forward"),
            softmax: pipeline("softmax"),
            weight_grad: pipeline("weight_grad"),
            input_grad: pipeline("input_grad"),
            update: pipeline("update"),
            data_layout,
            uniform_layout,
            align: (std::mem::size_of::<Dims>() as u64)
                .next_multiple_of(u64::from(limits.min_uniform_buffer_offset_alignment).max(16)),
            slots: Slots {
                xb: Slot::new("examples", storage),
                meta: Slot::new("labels", storage),
                global: Slot::new("global", storage),
                w: Slot::new("params", storage),
                v: Slot::new("momentum", storage),
                g: Slot::new("gradient", storage),
                work: Slot::new("activations", storage),
                out: Slot::new("probabilities", storage),
                dims: Slot::new("dims", U::UNIFORM | U::COPY_DST),
                steps: Slot::new("steps", U::UNIFORM | U::COPY_DST),
                read_params: Slot::new("params readback", U::MAP_READ | U::COPY_DST),
                read_probs: Slot::new("probabilities readback", U::MAP_READ | U::COPY_DST),
            },
        }
    }

    /// Trains every client from `global` and returns their outcomes in
    /// order. `x` holds the examples row by row, `features` each.
    #[allow(clippy::too_many_arguments)]
    pub fn train(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        max_binding: u64,
        shape: &Shape,
        global: &[f32],
        x: &[f32],
        clients: &[ClientBatches],
        sgd: Sgd,
    ) -> Result<Vec<ClientOutcome>, GpuError> {
        let steps = clients.iter().map(|c| c.rows.len()).max().unwrap_or(0);
        let batch = clients
            .iter()
            .flat_map(|c| c.rows.iter().map(Vec::len))
            .max()
            .unwrap_or(0);
        if steps == 0 || batch == 0 {
            return Ok(clients
                .iter()
                .map(|c| ClientOutcome {
                    params: global.to_vec(),
                    label_probs: vec![Vec::new(); c.rows.len()],
                    hits: vec![Vec::new(); c.rows.len()],
                })
                .collect());
        }
        // Steps per submission: all of them (up to MAX_STEPS_PER_SUBMIT),
        // unless one client's examples for every step exceed a binding;
        // then windows of steps, the parameters and momentum staying on
        // the device between them.
        let mut window = steps.min(MAX_STEPS_PER_SUBMIT);
        while window > 1 && shape.clients_per_group(window, batch, max_binding) == 0 {
            window = window.div_ceil(2);
        }
        shape.check_fits(window, batch, max_binding)?;
        let per_group = shape.clients_per_group(window, batch, max_binding);
        let mut outcomes = Vec::with_capacity(clients.len());
        for group in clients.chunks(per_group) {
            let mut outs: Vec<ClientOutcome> = group
                .iter()
                .map(|c| ClientOutcome {
                    params: Vec::new(),
                    label_probs: Vec::with_capacity(c.rows.len()),
                    hits: Vec::with_capacity(c.rows.len()),
                })
                .collect();
            for start in (0..steps).step_by(window) {
                let end = (start + window).min(steps);
                let part: Cow<[ClientBatches]> = if window >= steps {
                    Cow::Borrowed(group)
                } else {
                    Cow::Owned(group.iter().map(|c| c.window(start, end)).collect())
                };
                let run = Run {
                    shape,
                    clients: &part,
                    steps: end - start,
                    batch,
                    sgd: Some(sgd),
                    fresh: start == 0,
                };
                for (o, r) in outs
                    .iter_mut()
                    .zip(self.run(device, queue, &run, global, x)?)
                {
                    o.params = r.params;
                    o.label_probs.extend(r.label_probs);
                    o.hits.extend(r.hits);
                }
            }
            outcomes.extend(outs);
        }
        Ok(outcomes)
    }

    /// The probability of each example's label under `params`, and whether
    /// the arg-max class is the label, in chunks of `chunk` examples.
    #[allow(clippy::too_many_arguments)]
    pub fn score(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        max_binding: u64,
        shape: &Shape,
        params: &[f32],
        x: &[f32],
        labels: &[u32],
        chunk: usize,
    ) -> Result<Vec<(f32, bool)>, GpuError> {
        let n = labels.len();
        let batch = chunk.max(1).min(n.max(1));
        // As many chunks per call as fit a binding (and one submission).
        let mut per_call = n.div_ceil(batch).clamp(1, MAX_STEPS_PER_SUBMIT);
        while per_call > 1 && shape.clients_per_group(per_call, batch, max_binding) == 0 {
            per_call = per_call.div_ceil(2);
        }
        shape.check_fits(per_call, batch, max_binding)?;
        let mut scores = Vec::with_capacity(n);
        let mut start = 0;
        while start < n {
            let mut batches = ClientBatches::default();
            while batches.rows.len() < per_call && start < n {
                let end = (start + batch).min(n);
                batches.rows.push((start as u32..end as u32).collect());
                batches.labels.push(labels[start..end].to_vec());
                start = end;
            }
            let run = Run {
                shape,
                clients: std::slice::from_ref(&batches),
                steps: batches.rows.len(),
                batch,
                sgd: None,
                fresh: true,
            };
            let out = self.run(device, queue, &run, params, x)?;
            for (probs, hits) in out[0].label_probs.iter().zip(&out[0].hits) {
                scores.extend(probs.iter().copied().zip(hits.iter().copied()));
            }
        }
        Ok(scores)
    }

    /// One group: gathers the examples, uploads, runs every step in one
    /// compute pass and reads the parameters and probabilities back.
    fn run(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        run: &Run,
        global: &[f32],
        x: &[f32],
    ) -> Result<Vec<ClientOutcome>, GpuError> {
        let shape = run.shape;
        let (g, s, b) = (run.clients.len(), run.steps, run.batch);
        let (d, p, a) = (shape.sizes[0], shape.params(), shape.stride());
        // Each client's examples and labels, gathered in parallel into its
        // own contiguous block of the step layout.
        let mut xb = vec![0f32; g * s * b * d];
        let mut meta = vec![0u32; g * s * b + g * s];
        let (labels, counts) = meta.split_at_mut(g * s * b);
        xb.par_chunks_mut((s * b * d).max(1))
            .zip(labels.par_chunks_mut((s * b).max(1)))
            .zip(counts.par_chunks_mut(s.max(1)))
            .zip(run.clients)
            .for_each(|(((xc, lc), cc), client)| {
                for (st, (rows, ys)) in client.rows.iter().zip(&client.labels).enumerate() {
                    for (i, (&r, &y)) in rows.iter().zip(ys).enumerate() {
                        let dst = (st * b + i) * d;
                        let src = r as usize * d;
                        xc[dst..dst + d].copy_from_slice(&x[src..src + d]);
                        lc[st * b + i] = y;
                    }
                    cc[st] = rows.len() as u32;
                }
            });
        let w_bytes = (g * p * 4) as u64;
        let out_bytes = (g * s * b * 2 * 4) as u64;
        let align = self.align;
        let layers = shape.layers();
        let mut dims_bytes = vec![0u8; layers * align as usize];
        let mut out_off = 0u32;
        let mut in_off = 0u32;
        let mut w_off = 0u32;
        let sgd = run.sgd.unwrap_or(Sgd {
            learning_rate: 0.0,
            momentum: 0.0,
            weight_decay: 0.0,
            prox_mu: 0.0,
        });
        for l in 0..layers {
            let (i, o) = (shape.sizes[l] as u32, shape.sizes[l + 1] as u32);
            let dims = Dims {
                u: [
                    g as u32,
                    s as u32,
                    b as u32,
                    d as u32,
                    p as u32,
                    a as u32,
                    i,
                    o,
                    w_off,
                    w_off + i * o,
                    in_off,
                    out_off,
                    u32::from(l + 1 < layers),
                    u32::from(l == 0),
                    u32::from(sgd.momentum != 0.0),
                    0,
                ],
                f: [
                    sgd.learning_rate,
                    sgd.momentum,
                    sgd.weight_decay,
                    sgd.prox_mu,
                ],
            };
            let at = l * align as usize;
            dims_bytes[at..at + std::mem::size_of::<Dims>()]
                .copy_from_slice(bytemuck::bytes_of(&dims));
            in_off = out_off;
            out_off += o;
            w_off += i * o + o;
        }
        let mut step_bytes = vec![0u8; s * align as usize];
        for st in 0..s {
            let at = st * align as usize;
            step_bytes[at..at + 4].copy_from_slice(&(st as u32).to_le_bytes());
        }
        let sl = &mut self.slots;
        let xb_buf = sl.xb.ensure(device, (xb.len() * 4) as u64).clone();
        let meta_buf = sl.meta.ensure(device, (meta.len() * 4) as u64).clone();
        let global_buf = sl.global.ensure(device, (p * 4) as u64).clone();
        let w_buf = sl.w.ensure(device, w_bytes).clone();
        let v_buf = sl.v.ensure(device, w_bytes).clone();
        let g_buf = sl.g.ensure(device, w_bytes).clone();
        let work_buf = sl.work.ensure(device, (2 * g * b * a * 4) as u64).clone();
        let out_buf = sl.out.ensure(device, out_bytes).clone();
        let dims_buf = sl.dims.ensure(device, dims_bytes.len() as u64).clone();
        let steps_buf = sl.steps.ensure(device, step_bytes.len() as u64).clone();
        // Two readback buffers, so that neither exceeds a binding's size.
        let read_w = sl.read_params.ensure(device, w_bytes).clone();
        let read_out = sl.read_probs.ensure(device, out_bytes).clone();
        queue.write_buffer(&xb_buf, 0, bytemuck::cast_slice(&xb));
        queue.write_buffer(&meta_buf, 0, bytemuck::cast_slice(&meta));
        queue.write_buffer(&global_buf, 0, bytemuck::cast_slice(global));
        queue.write_buffer(&dims_buf, 0, &dims_bytes);
        queue.write_buffer(&steps_buf, 0, &step_bytes);
        let data = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("train data"),
            layout: &self.data_layout,
            entries: &[
                &xb_buf,
                &meta_buf,
                &global_buf,
                &w_buf,
                &v_buf,
                &g_buf,
                &work_buf,
                &out_buf,
            ]
            .iter()
            .enumerate()
            .map(|(k, buf)| wgpu::BindGroupEntry {
                binding: k as u32,
                resource: buf.as_entire_binding(),
            })
            .collect::<Vec<_>>(),
        });
        fn uniform(buf: &wgpu::Buffer, size: usize) -> wgpu::BindingResource<'_> {
            wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: buf,
                offset: 0,
                size: wgpu::BufferSize::new(size as u64),
            })
        }
        let uniforms = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("train dims"),
            layout: &self.uniform_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform(&dims_buf, std::mem::size_of::<Dims>()),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: uniform(&steps_buf, 16),
                },
            ],
        });
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("train"),
        });
        if run.fresh {
            // Every client starts from the global model: copied on the device.
            for c in 0..g as u64 {
                encoder.copy_buffer_to_buffer(
                    &global_buf,
                    0,
                    &w_buf,
                    c * p as u64 * 4,
                    p as u64 * 4,
                );
            }
            encoder.clear_buffer(&v_buf, 0, Some(w_bytes));
        }
        encoder.clear_buffer(&out_buf, 0, Some(out_bytes));
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("train"),
                timestamp_writes: None,
            });
            pass.set_bind_group(0, &data, &[]);
            let dispatch = |pass: &mut wgpu::ComputePass,
                            pipeline: &wgpu::ComputePipeline,
                            l: usize,
                            st: usize,
                            n: usize| {
                pass.set_pipeline(pipeline);
                pass.set_bind_group(
                    1,
                    &uniforms,
                    &[(l as u64 * align) as u32, (st as u64 * align) as u32],
                );
                let groups = (n as u32).div_ceil(WORKGROUP).max(1);
                let gx = groups.min(65_535);
                pass.dispatch_workgroups(gx, groups.div_ceil(gx), 1);
            };
            let last = layers - 1;
            for st in 0..s {
                for l in 0..layers {
                    dispatch(&mut pass, &self.forward, l, st, g * b * shape.sizes[l + 1]);
                }
                dispatch(&mut pass, &self.softmax, last, st, g * b);
                if run.sgd.is_none() {
                    continue;
                }
                for l in (0..layers).rev() {
                    let (i, o) = (shape.sizes[l], shape.sizes[l + 1]);
                    dispatch(&mut pass, &self.weight_grad, l, st, g * (i * o + o));
                    if l > 0 {
                        dispatch(&mut pass, &self.input_grad, l, st, g * b * i);
                    }
                }
                dispatch(&mut pass, &self.update, 0, st, g * p);
            }
        }
        encoder.copy_buffer_to_buffer(&w_buf, 0, &read_w, 0, w_bytes);
        encoder.copy_buffer_to_buffer(&out_buf, 0, &read_out, 0, out_bytes);
        queue.submit([encoder.finish()]);
        let weight_bytes = read_back(device, &read_w, w_bytes)?;
        let prob_bytes = read_back(device, &read_out, out_bytes)?;
        let weights: &[f32] = bytemuck::cast_slice(&weight_bytes);
        let probs: &[f32] = bytemuck::cast_slice(&prob_bytes);
        Ok(run
            .clients
            .iter()
            .enumerate()
            .map(|(c, client)| {
                let mut label_probs = Vec::with_capacity(client.rows.len());
                let mut hits = Vec::with_capacity(client.rows.len());
                for (st, rows) in client.rows.iter().enumerate() {
                    let at = (c * s + st) * b * 2;
                    let step = &probs[at..at + rows.len() * 2];
                    label_probs.push(step.iter().step_by(2).copied().collect());
                    hits.push(step.iter().skip(1).step_by(2).map(|&h| h == 1.0).collect());
                }
                ClientOutcome {
                    params: weights[c * p..(c + 1) * p].to_vec(),
                    label_probs,
                    hits,
                }
            })
            .collect())
    }
}

/// A group's problem.
struct Run<'a> {
    shape: &'a Shape,
    clients: &'a [ClientBatches],
    steps: usize,
    batch: usize,
    /// None: forward only (scoring).
    sgd: Option<Sgd>,
    /// Start from the global model with zero momentum (false: go on from
    /// the parameters and momentum the previous window left).
    fresh: bool,
}

/// Copies the first `bytes` of a mapped-readable buffer to the host.
pub(crate) fn read_back(
    device: &wgpu::Device,
    buf: &wgpu::Buffer,
    bytes: u64,
) -> Result<Vec<u8>, GpuError> {
    let slice = buf.slice(..bytes);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| GpuError::Failed {
            detail: e.to_string(),
        })?;
    rx.recv()
        .map_err(|e| GpuError::Failed {
            detail: e.to_string(),
        })?
        .map_err(|e| GpuError::Failed {
            detail: e.to_string(),
        })?;
    let mapped = slice.get_mapped_range().map_err(|e| GpuError::Failed {
        detail: e.to_string(),
    })?;
    let out = mapped.to_vec();
    drop(mapped);
    buf.unmap();
    Ok(out)
}
