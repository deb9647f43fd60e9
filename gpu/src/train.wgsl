// Batched local training of a round's clients: each step trains every
// client's next mini-batch at once (clients × batch × units as one problem
// per dispatch). Every sum runs in a fixed order inside one invocation, so
// one device always gives the same bits.
//
// Layouts (G clients in the group, S steps, B batch rows, A = Σ layer
// outputs, P parameters, D features):
//   xb[((c·S + s)·B + i)·D + k]      the step's gathered examples
//   info[(c·S + s)·B + i]            their (remapped) labels
//   info[G·S·B + c·S + s]            the step's batch size (0: idle)
//   w, v, g [c·P + p]                parameters, momentum, gradient
//   work[(c·B + i)·A + off + o]      activations (first half) and
//   work[G·B·A + (c·B + i)·A + off + o]   their gradients (second half)
//   probs[((c·S + s)·B + i)·2 + {0,1}] the label's probability, hit (0/1)

struct Dims {
    clients: u32, steps: u32, batch: u32, features: u32,
    params: u32, stride: u32, inputs: u32, outputs: u32,
    w_off: u32, b_off: u32, in_off: u32, out_off: u32,
    relu: u32, first: u32, momentum_on: u32, pad0: u32,
    lr: f32, momentum: f32, weight_decay: f32, prox_mu: f32,
};
struct Step { s: u32, p1: u32, p2: u32, p3: u32 };

@group(0) @binding(0) var<storage, read> xb: array<f32>;
@group(0) @binding(1) var<storage, read> info: array<u32>;
@group(0) @binding(2) var<storage, read> global_w: array<f32>;
@group(0) @binding(3) var<storage, read_write> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read_write> g: array<f32>;
@group(0) @binding(6) var<storage, read_write> work: array<f32>;
@group(0) @binding(7) var<storage, read_write> probs: array<f32>;
@group(1) @binding(0) var<uniform> d: Dims;
@group(1) @binding(1) var<uniform> st: Step;

fn flat_id(id: vec3<u32>, n: vec3<u32>) -> u32 {
    return id.x + id.y * n.x * 64u;
}

fn batch_rows(c: u32) -> u32 {
    return info[d.clients * d.steps * d.batch + c * d.steps + st.s];
}

fn input_at(c: u32, i: u32, k: u32) -> f32 {
    if (d.first == 1u) {
        return xb[((c * d.steps + st.s) * d.batch + i) * d.features + k];
    }
    return work[(c * d.batch + i) * d.stride + d.in_off + k];
}

fn grads_base() -> u32 {
    return d.clients * d.batch * d.stride;
}

// One layer forward: z = x·W + b (ReLU on hidden layers).
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {
    let t = flat_id(id, n);
    if (t >= d.clients * d.batch * d.outputs) { return; }
    let o = t % d.outputs;
    let i = (t / d.outputs) % d.batch;
    let c = t / (d.outputs * d.batch);
    if (i >= batch_rows(c)) { return; }
    let base = c * d.params + d.w_off;
    var z: f32 = 0.0;
    for (var k: u32 = 0u; k < d.inputs; k = k + 1u) {
        z = z + input_at(c, i, k) * w[base + k * d.outputs + o];
    }
    z = z + w[c * d.params + d.b_off + o];
    if (d.relu == 1u && z < 0.0) { z = 0.0; }
    work[(c * d.batch + i) * d.stride + d.out_off + o] = z;
}

// Softmax of the output layer: the label's probability and whether the
// arg-max hits it go to `probs`; (p − onehot) / batch to the output gradient.
@compute @workgroup_size(64)
fn softmax(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {
    let t = flat_id(id, n);
    if (t >= d.clients * d.batch) { return; }
    let i = t % d.batch;
    let c = t / d.batch;
    let cnt = batch_rows(c);
    if (i >= cnt) { return; }
    let row = (c * d.batch + i) * d.stride + d.out_off;
    let label = info[(c * d.steps + st.s) * d.batch + i];
    // As the CPU: the first strict maximum, NaNs never win (the start is
    // the lowest finite f32 where the CPU starts from −∞).
    var arg: u32 = 0u;
    var best: f32 = -3.40282347e38;
    for (var j: u32 = 0u; j < d.outputs; j = j + 1u) {
        if (work[row + j] > best) { best = work[row + j]; arg = j; }
    }
    var sum: f32 = 0.0;
    for (var j: u32 = 0u; j < d.outputs; j = j + 1u) {
        sum = sum + exp(work[row + j] - best);
    }
    let inv = 1.0 / f32(cnt);
    let gb = grads_base();
    for (var j: u32 = 0u; j < d.outputs; j = j + 1u) {
        let p = exp(work[row + j] - best) / sum;
        var dz = p;
        if (j == label) {
            probs[((c * d.steps + st.s) * d.batch + i) * 2u] = p;
            dz = p - 1.0;
        }
        work[gb + row + j] = dz * inv;
    }
    var hit: f32 = 0.0;
    if (arg == label) { hit = 1.0; }
    probs[((c * d.steps + st.s) * d.batch + i) * 2u + 1u] = hit;
}

// Weight and bias gradients of one layer: sums over the batch.
@compute @workgroup_size(64)
fn weight_grad(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {
    let t = flat_id(id, n);
    let per = d.inputs * d.outputs + d.outputs;
    if (t >= d.clients * per) { return; }
    let q = t % per;
    let c = t / per;
    let cnt = batch_rows(c);
    if (cnt == 0u) { return; }
    let gb = grads_base();
    var acc: f32 = 0.0;
    if (q < d.inputs * d.outputs) {
        let k = q / d.outputs;
        let o = q % d.outputs;
        for (var i: u32 = 0u; i < cnt; i = i + 1u) {
            acc = acc + input_at(c, i, k) * work[gb + (c * d.batch + i) * d.stride + d.out_off + o];
        }
        g[c * d.params + d.w_off + q] = acc;
    } else {
        let o = q - d.inputs * d.outputs;
        for (var i: u32 = 0u; i < cnt; i = i + 1u) {
            acc = acc + work[gb + (c * d.batch + i) * d.stride + d.out_off + o];
        }
        g[c * d.params + d.b_off + o] = acc;
    }
}

// The gradient of a hidden layer's output: dz · Wᵀ, masked by its ReLU.
@compute @workgroup_size(64)
fn input_grad(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {
    let t = flat_id(id, n);
    if (t >= d.clients * d.batch * d.inputs) { return; }
    let k = t % d.inputs;
    let i = (t / d.inputs) % d.batch;
    let c = t / (d.inputs * d.batch);
    if (i >= batch_rows(c)) { return; }
    let gb = grads_base();
    let a = (c * d.batch + i) * d.stride + d.in_off + k;
    var acc: f32 = 0.0;
    // As the CPU: zero where the unit was not active (a NaN passes).
    if (!(work[a] <= 0.0)) {
        let base = c * d.params + d.w_off + k * d.outputs;
        let dz = (c * d.batch + i) * d.stride + d.out_off;
        for (var o: u32 = 0u; o < d.outputs; o = o + 1u) {
            acc = acc + work[gb + dz + o] * w[base + o];
        }
    }
    work[gb + a] = acc;
}

// SGD with weight decay, the FedProx term and heavy-ball momentum.
@compute @workgroup_size(64)
fn update(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {
    let t = flat_id(id, n);
    if (t >= d.clients * d.params) { return; }
    let c = t / d.params;
    if (batch_rows(c) == 0u) { return; }
    let p = t % d.params;
    var grad = g[t];
    if (d.weight_decay != 0.0) { grad = grad + d.weight_decay * w[t]; }
    if (d.prox_mu != 0.0) { grad = grad + d.prox_mu * (w[t] - global_w[p]); }
    var delta = grad;
    if (d.momentum_on == 1u) {
        v[t] = d.momentum * v[t] + grad;
        delta = v[t];
    }
    w[t] = w[t] - d.lr * delta;
}
