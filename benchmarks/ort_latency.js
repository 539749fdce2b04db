#!/usr/bin/env node
// Latency of one ONNX model in ONNX Runtime (npm onnxruntime-node, CPU execution provider):
// batch 1, graph optimisation level "all" (for a QDQ model ORT then fuses each
// DequantizeLinear -> Conv -> QuantizeLinear group into QLinearConv and runs int8 kernels),
// WARMUP untimed runs, then ITERS timed runs of session.run. Prints ONE JSON line:
//   {"model": ..., "threads": T, "iters": N, "median_ms": ..., "p90_ms": ..., "min_ms": ...,
//    "mean_ms": ..., "cpu_median_ms": ..., "create_ms": ..., "input": [dims], "rss_mb": ...}
// cpu_median_ms: the process's CPU time (all threads) per run; at 1 thread that is the latency
// the run would have had with a core to itself, whatever else runs on the machine.
//
// usage: ort_latency.js MODEL.onnx [--threads T] [--iters N] [--warmup W] [--shape 1,3,224,224]
//                       [--input X.npy] [--ort DIR] [--save-optimized OUT.onnx]
//   T      intra-op threads (default 1); inter-op threads are always 1, sequential execution
//   shape  of the random fp32 input (seeded, N(0,1)) when no --input is given; default: the
//          model's first input if ORT reports it, else 1,3,224,224
//   DIR    where scripts/install-ort.sh installed the package (default: build/ort)
//   OUT    also write the graph ORT optimised (to see which int8 kernels it fused)
'use strict';
const fs = require('fs');
const path = require('path');

function die(msg) { process.stderr.write('ort_latency: ' + msg + '\n'); process.exit(1); }

function readNpyF32(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') die(file + ': not an NPY file');
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const off = major === 1 ? 10 : 12;
  const hdr = buf.toString('latin1', off, off + hlen);
  if (!/'descr':\s*'<f4'/.test(hdr)) die(file + ': only float32 (<f4) inputs are supported');
  if (/'fortran_order':\s*True/.test(hdr)) die(file + ': fortran_order arrays are not supported');
  const m = /'shape':\s*\(([^)]*)\)/.exec(hdr);
  if (!m) die(file + ': malformed NPY header');
  const dims = m[1].split(',').map(s => s.trim()).filter(s => s.length).map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  const start = off + hlen;
  if (buf.length !== start + 4 * n) die(file + ': data size does not match the shape');
  const data = new Float32Array(n);
  Buffer.from(data.buffer).set(buf.subarray(start));
  return { dims, data };
}

// Seeded N(0,1) (mulberry32 + Box-Muller): the same input every run, no dependence on Math.random.
function randn(n, seed) {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6D2B79F5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u())), th = 2 * Math.PI * u();
    out[i] = r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

function quantile(sorted, q) {  // linear interpolation between closest ranks (numpy's default)
  const pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

async function main() {
  const args = process.argv.slice(2);
  let ortDir = path.join(__dirname, '..', 'build', 'ort');
  let threads = 1, iters = 20, warmup = 3, shape = null, input = null, saveOpt = null;
  const pos = [];
  const num = (name, v, lo, hi) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < lo || x > hi) die(`${name}: '${v}' is not an integer in ${lo}..${hi}`);
    return x;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i], v = args[i + 1];
    if (a === '--threads') { threads = num(a, v, 1, 1024); i++; }
    else if (a === '--iters') { iters = num(a, v, 1, 1000000); i++; }
    else if (a === '--warmup') { warmup = num(a, v, 0, 1000000); i++; }
    else if (a === '--shape') { shape = String(v).split(',').map(d => num(a, d, 1, 1 << 30)); i++; }
    else if (a === '--input') { input = v; i++; }
    else if (a === '--ort') { ortDir = v; i++; }
    else if (a === '--save-optimized') { saveOpt = v; i++; }
    else if (a.startsWith('--')) die('unknown option ' + a);
    else pos.push(a);
  }
  if (pos.length !== 1) die('usage: ort_latency.js MODEL.onnx [--threads T] [--iters N] [--warmup W] ' +
                            '[--shape D,D,..] [--input X.npy] [--ort DIR] [--save-optimized OUT.onnx]');
  let ort;
  try { ort = require(path.join(path.resolve(ortDir), 'node_modules', 'onnxruntime-node')); }
  catch (err) { die('cannot load onnxruntime-node from ' + ortDir + ': ' + err.message); }

  const opts = {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  if (saveOpt) opts.optimizedModelFilePath = saveOpt;
  const tc = process.hrtime.bigint();
  const sess = await ort.InferenceSession.create(pos[0], opts);
  const createMs = Number(process.hrtime.bigint() - tc) / 1e6;

  let x;
  if (input) x = readNpyF32(input);
  else {
    if (!shape) {
      const meta = sess.inputMetadata && sess.inputMetadata[0];
      const s = meta && meta.shape;
      shape = Array.isArray(s) && s.length && s.every(d => typeof d === 'number' && d > 0)
        ? s : [1, 3, 224, 224];
    }
    const n = shape.reduce((a, b) => a * b, 1);
    x = { dims: shape, data: randn(n, 1234) };
  }
  const feeds = { [sess.inputNames[0]]: new ort.Tensor('float32', x.data, x.dims) };

  for (let i = 0; i < warmup; i++) await sess.run(feeds);
  const ms = [], cpu = [];
  for (let i = 0; i < iters; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await sess.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e3);
  }
  const cpuSorted = cpu.slice().sort((a, b) => a - b);
  const sorted = ms.slice().sort((a, b) => a - b);
  const r3 = v => Math.round(v * 1000) / 1000;
  process.stdout.write(JSON.stringify({
    model: pos[0], threads, iters, warmup,
    median_ms: r3(quantile(sorted, 0.5)), p90_ms: r3(quantile(sorted, 0.9)),
    min_ms: r3(sorted[0]), mean_ms: r3(ms.reduce((a, b) => a + b, 0) / ms.length),
    cpu_median_ms: r3(quantile(cpuSorted, 0.5)), create_ms: r3(createMs), input: x.dims,
    rss_mb: Math.round(process.memoryUsage().rss / 1048576),
  }) + '\n');
}

main().catch(err => die(err && err.message ? err.message : String(err)));
