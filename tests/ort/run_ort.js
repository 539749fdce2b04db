#!/usr/bin/env node
// Runs an ONNX model in ONNX Runtime (npm onnxruntime-node) on a batch of inputs from an NPY
// file and writes the first output as NPY: the independent engine tests/ort/test_ort.c checks
// quantc's interpreter and exporter against.
//
// usage: run_ort.js MODEL.onnx IN.npy OUT.npy [--ort DIR] [--batch N] [--opt LEVEL]
//   DIR    where scripts/install-ort.sh installed the package (default: build/ort)
//   N      rows of IN.npy per run (default: all at once); the model's batch axis must then be
//          symbolic. Outputs of all runs are concatenated along axis 0.
//   LEVEL  ORT graph optimization level: disabled, basic, extended, all (default, as ORT's
//          own default; "all" fuses QDQ groups into int8 kernels such as QLinearConv).
// One intra-op and one inter-op thread.
'use strict';
const fs = require('fs');
const path = require('path');

const DTYPES = {  // NPY descr -> [ORT type, TypedArray]
  '<f4': ['float32', Float32Array], '|u1': ['uint8', Uint8Array], '|i1': ['int8', Int8Array],
  '<i4': ['int32', Int32Array], '<i8': ['int64', BigInt64Array], '<f8': ['float64', Float64Array],
};

function die(msg) { process.stderr.write('run_ort: ' + msg + '\n'); process.exit(1); }

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') die(file + ': not an NPY file');
  const major = buf[6];
  let hlen, off;
  if (major === 1) { hlen = buf.readUInt16LE(8); off = 10; }
  else if (major === 2 || major === 3) { hlen = buf.readUInt32LE(8); off = 12; }
  else die(file + ': NPY version ' + major + ' not supported');
  const hdr = buf.toString('latin1', off, off + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(hdr);
  const fortran = /'fortran_order':\s*(True|False)/.exec(hdr);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(hdr);
  if (!descr || !fortran || !shape) die(file + ': malformed NPY header');
  if (fortran[1] === 'True') die(file + ': fortran_order arrays are not supported');
  let d = descr[1];
  if (d === '<u1' || d === 'u1') d = '|u1';
  if (d === '<i1' || d === 'i1') d = '|i1';
  if (!DTYPES[d]) die(file + ': dtype ' + d + ' not supported');
  const dims = shape[1].split(',').map(s => s.trim()).filter(s => s.length).map(Number);
  const elems = dims.reduce((a, b) => a * b, 1);
  const T = DTYPES[d][1];
  const start = off + hlen;
  if (buf.length !== start + elems * T.BYTES_PER_ELEMENT) die(file + ': data size does not match the shape');
  const data = new T(elems);  // copy: the Buffer's offset need not be aligned
  Buffer.from(data.buffer).set(buf.subarray(start));
  return { descr: d, dims, data };
}

function writeNpy(file, descr, dims, data) {
  const shape = '(' + dims.join(', ') + (dims.length === 1 ? ',' : '') + ')';
  let hdr = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ', }';
  const pad = 64 - ((10 + hdr.length + 1) % 64);
  hdr += ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(hdr.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const tmp = file + '.tmp';
  fs.writeFileSync(tmp, Buffer.concat([pre, Buffer.from(hdr, 'latin1'), body]));
  fs.renameSync(tmp, file);
}

async function main() {
  const args = process.argv.slice(2);
  let ortDir = path.join(__dirname, '..', '..', 'build', 'ort');
  let batch = 0, opt = 'all';
  const pos = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--ort') ortDir = args[++i];
    else if (args[i] === '--batch') batch = parseInt(args[++i], 10);
    else if (args[i] === '--opt') opt = args[++i];
    else pos.push(args[i]);
  }
  if (pos.length !== 3 || !(batch >= 0) || !['disabled', 'basic', 'extended', 'all'].includes(opt))
    die('usage: run_ort.js MODEL.onnx IN.npy OUT.npy [--ort DIR] [--batch N] [--opt LEVEL]');
  let ort;
  try { ort = require(path.join(path.resolve(ortDir), 'node_modules', 'onnxruntime-node')); }
  catch (err) { die('cannot load onnxruntime-node from ' + ortDir + ': ' + err.message); }
  const [model, inFile, outFile] = pos;
  const x = readNpy(inFile);
  const sess = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: opt,
  });
  const n = x.dims.length ? x.dims[0] : 1;
  const step = batch > 0 && x.dims.length ? batch : n;
  const row = x.dims.length ? x.data.length / Math.max(n, 1) : x.data.length;
  const parts = [];
  let outDims = null, outType = null;
  for (let b = 0; b < n; b += step) {
    const m = Math.min(step, n - b);
    const dims = x.dims.length ? [m, ...x.dims.slice(1)] : [];
    const t = new ort.Tensor(DTYPES[x.descr][0], x.data.subarray(b * row, (b + m) * row), dims);
    const res = await sess.run({ [sess.inputNames[0]]: t });
    const y = res[sess.outputNames[0]];
    outType = y.type;
    outDims = y.dims.slice();
    parts.push(y.data);
  }
  const entry = Object.entries(DTYPES).find(([, v]) => v[0] === outType);
  if (!entry) die('output type ' + outType + ' has no NPY writer here');
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new entry[1][1](total);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  if (outDims.length && step !== n) outDims[0] = n;
  writeNpy(outFile, entry[0], outDims, out);
}

main().catch(err => die(err && err.message ? err.message : String(err)));
