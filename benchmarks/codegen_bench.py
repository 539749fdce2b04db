#!/usr/bin/python3
"""quantc's compiled artifacts against ONNX Runtime on torchvision ResNet-18/50, batch 1, with the
host's measured peak MAC rate alongside (benchmarks/codegen.md explains the table).

Steps (all in WORK): build benchmarks/peak.c and run it; export the models (fp32, seeded random
weights, tests/models/export_torchvision.py); seeded N(0,1) calibration batches; `quantc
quantize --scheme w8a8` (quantc's exact QDQ export) and benchmarks/qdq_standard.py (the standard
QDQ form ORT's quantizer writes, same calibration); `quantc compile` fp32 and w8a8 (same
calibration); `quantc bench DIR --threads T` and ORT (benchmarks/ort_latency.js) at each T.
Prints the table, writes WORK/results.json and WORK/results.md. Latencies are medians; the
machine is shared, so read them with the min columns of results.json.

usage: codegen_bench.py [--quantc PATH] [--work DIR] [--models resnet18,resnet50]
                        [--threads 1,2] [--iters 20,10] [--peak-ms MS] [--no-quantc]
"""
import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_INT8 = 0.8   # quantc W8A8 latency / ORT int8 latency
TARGET_FP32 = 1.0   # quantc fp32 latency / ORT fp32 latency
TARGET_COMPILE_S = 10.0


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd, timeout=1800, check=True):
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    dt = time.monotonic() - t0
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout[-2000:]}"
                           f"{p.stderr[-2000:]}")
    return p, dt


def git_commit():
    p = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                       capture_output=True, text=True)
    return p.stdout.strip() or "unknown"


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def peak(work, ms, threads):
    exe = os.path.join(work, "peak")
    cc = os.environ.get("CC", "cc")
    run([cc, "-std=c11", "-O2", "-pthread", os.path.join(ROOT, "benchmarks", "peak.c"), "-o", exe])
    p, _ = run([exe, "--json", "--ms", str(ms), "--threads", str(threads)])
    d = json.loads(p.stdout)
    fp = [k for k in d["kernels"] if k["name"].startswith("fp32")]
    it = [k for k in d["kernels"] if not k["name"].startswith("fp32")]
    best = lambda ks, key: max(ks, key=lambda k: k[key]) if ks else None
    d["fp32_best"] = best(fp, "gmacs_1t")
    d["int8_best"] = best(it, "gmacs_1t")
    return d


def export(work, models):
    cache = os.path.join(work, "models")
    run(["/usr/bin/python3", os.path.join(ROOT, "tests", "models", "export_torchvision.py"),
         cache] + models, timeout=1800)
    return {m: os.path.join(cache, m, "model.onnx") for m in models}


def calib(work, n=4):
    d = os.path.join(work, "calib")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(7)
    for i in range(n):
        np.save(os.path.join(d, f"c{i}.npy"),
                rng.standard_normal((1, 3, 224, 224)).astype(np.float32))
    return d


def ort(model, threads, iters, save=None):
    cmd = ["node", os.path.join(ROOT, "benchmarks", "ort_latency.js"), model, "--threads",
           str(threads), "--iters", str(iters), "--warmup", "3",
           "--ort", os.path.join(ROOT, "build", "ort")]
    if save:
        cmd += ["--save-optimized", save]
    p, _ = run(cmd)
    return json.loads(p.stdout.strip().splitlines()[-1])


def op_counts(model):
    import collections
    import onnx
    return dict(collections.Counter(n.op_type for n in onnx.load(model).graph.node))


def parse_compile(text):
    """Times and int8 path from `quantc compile`'s summary lines '  quantize   X s' and
    '  compile    X s (lowering a s, LLVM b s, link c s[; CPU d s]); total T s'."""
    out = {}
    m = re.search(r"(?m)^\s*compile\s+([\d.]+) s\b(.*)$", text)
    if m:
        out["compile_s"] = float(m.group(1))
        for key, name in (("lower_s", "lowering"), ("llvm_s", "LLVM"), ("link_s", "link"),
                          ("compile_cpu_s", "CPU"), ("total_s", "total")):
            v = re.search(name + r"\s+([\d.]+) s", m.group(2))
            if v:
                out[key] = float(v.group(1))
    m = re.search(r"(?m)^\s*quantize\s+([\d.]+) s", text)
    if m:
        out["quantize_s"] = float(m.group(1))
    m = re.search(r"(?m)^\s*int8 path\s+(.+)$", text)
    if m:
        out["int8_path"] = m.group(1).strip()
    return out


def child_cpu_s():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def quantc_bench(quantc, art, t, iters, txt_path, cpu_probe=False):
    """One `quantc bench` run: median/p90 latency (ms), peak RSS (MiB), arena bytes. With
    CPU_PROBE also the CPU time of one run (ms): the CPU time of this call (2 warm-up + 2 x
    ITERS runs) less that of a call with 1 timed run (2 runs), over the runs between; at one
    thread that is the latency with a core to itself."""
    js = txt_path[:-4] + ".json"
    c0 = child_cpu_s()
    p, _ = run([quantc, "bench", art, "--threads", str(t), "--iters", str(iters), "--warmup", "2",
                "--json", js])
    cpu_full = child_cpu_s() - c0
    with open(txt_path, "w") as f:
        f.write(p.stdout + p.stderr)
    with open(js) as f:
        d = json.load(f)
    out = {"median_ms": d["latency_ms_median"], "p90_ms": d["latency_ms_p90"],
           "rss_mb": d["peak_rss_bytes"] / 1048576, "arena_bytes": d["arena_bytes"]}
    if cpu_probe and iters > 1:
        c0 = child_cpu_s()
        run([quantc, "bench", art, "--threads", str(t), "--iters", "1", "--warmup", "0",
             "--json", js[:-5] + ".probe.json"])
        cpu_one = child_cpu_s() - c0
        out["cpu_ms"] = max(0.0, (cpu_full - cpu_one) * 1e3 / (2 * iters))
    return out


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quantc", default=os.path.join(ROOT, "build", "tools", "quantc"))
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "codegen-bench"))
    ap.add_argument("--models", default="resnet18,resnet50")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--iters", default="20,10", help="timed runs per model, in --models order")
    ap.add_argument("--peak-ms", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds per measurement")
    ap.add_argument("--bench-s", type=float, default=10, help="time budget of one quantc bench")
    ap.add_argument("--no-quantc", action="store_true", help="ORT and peak columns only")
    ap.add_argument("--reuse", action="store_true",
                    help="keep artifacts compiled by an earlier run (their compile times too)")
    ap.add_argument("--table-only", action="store_true",
                    help="rewrite WORK/results.md from WORK/results.json (compile summaries "
                    "re-read from WORK/*.compile.txt)")
    a = ap.parse_args()
    if a.table_only:
        with open(os.path.join(a.work, "results.json")) as f:
            res = json.load(f)
        for c in res["compile"]:
            path = os.path.join(a.work, f"{c['model']}_{c['precision']}.compile.txt")
            if os.path.exists(path):
                with open(path) as f:
                    c.update(parse_compile(f.read()))
        with open(os.path.join(a.work, "results.json"), "w") as f:
            json.dump(res, f, indent=1)
        md = table(res)
        with open(os.path.join(a.work, "results.md"), "w") as f:
            f.write(md)
        print(md)
        return 0
    models = a.models.split(",")
    threads = [int(t) for t in a.threads.split(",")]
    iters = [int(i) for i in a.iters.split(",")]
    iters += [iters[-1]] * (len(models) - len(iters))
    os.makedirs(a.work, exist_ok=True)
    quantc = os.path.abspath(a.quantc)
    t_start = time.monotonic()

    res = {"cpu": cpu_name(), "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M UTC",
           time.gmtime()), "rows": [], "compile": [], "notes": [],
           "loadavg_start": os.getloadavg()[0], "commit": git_commit()}
    log(f"peak (peak.c, {a.peak_ms} ms per measurement)")
    pk = peak(a.work, a.peak_ms, max(threads))
    res["peak"] = pk
    for k in pk["kernels"]:
        log(f"  {k['name']:<20} {k['instr']:<32} 1T {k['gmacs_1t']:7.1f}  "
            f"{pk['threads']}T {k['gmacs_nt']:7.1f} GMAC/s")

    def peak_for(prec, t):
        k = pk["fp32_best"] if prec == "fp32" else pk["int8_best"]
        if not k:
            return None
        return k["gmacs_1t"] * t  # per-core peak x cores: the N-thread run is noisier here

    # the peak of the instructions quantc's kernels use: int8 path as `quantc compile` reports
    path_instr = {"avx2-s16": "vpmaddwd+vpaddd ymm", "avx512-vnni": "vpdpbusd zmm",
                  "avx-vnni": "{vex} vpdpbusd ymm", "neon-sdot": "sdot v.4s"}

    def path_peak(prec, t):
        if prec == "fp32":
            return peak_for(prec, t)
        paths = {c.get("int8_path") for c in res["compile"]}
        ks = [k for k in pk["kernels"] for p_ in paths if path_instr.get(p_) == k["instr"]]
        return ks[0]["gmacs_1t"] * t if ks else None

    log("export " + ",".join(models))
    onnx_paths = export(a.work, models)
    cal = calib(a.work)
    have_compile = have_bench = False
    if not a.no_quantc:
        if not os.access(quantc, os.X_OK):
            raise SystemExit(f"codegen_bench: {quantc} is not built (--quantc PATH)")
        for cmd in ("compile", "bench"):
            p, _ = run([quantc, cmd, "--help"], check=False)
            ok = p.returncode == 0
            if cmd == "compile":
                have_compile = ok
            else:
                have_bench = ok
            if not ok:
                res["notes"].append(f"quantc {cmd} not available: "
                                    f"{(p.stderr or p.stdout).strip().splitlines()[-1:]}")
                log(res["notes"][-1])

    for mi, model in enumerate(models):
        fp32 = onnx_paths[model]
        p, _ = run([quantc, "inspect", "--json", fp32])
        macs = json.loads(p.stdout)["totals"]["macs"]
        log(f"{model}: {macs / 1e9:.3f} GMAC; quantize w8a8 (quantc QDQ) + standard QDQ")
        qdq = os.path.join(a.work, f"{model}_w8a8_quantc.onnx")
        run([quantc, "quantize", fp32, "--scheme", "w8a8", "--calib", cal, "-o", qdq])
        std = os.path.join(a.work, f"{model}_w8a8_std.onnx")
        run(["/usr/bin/python3", os.path.join(ROOT, "benchmarks", "qdq_standard.py"), fp32, qdq,
             std])
        arts = {}
        q_iters = {}
        if have_compile:
            for prec in ("fp32", "w8a8"):
                d = os.path.join(a.work, f"{model}_{prec}")
                if a.reuse and os.path.exists(d + ".compile.txt") and os.path.isdir(d):
                    with open(d + ".compile.txt") as f:
                        c = {"model": model, "precision": prec, "wall_s": None, "reused": True}
                        c.update(parse_compile(f.read()))
                    arts[prec] = d
                    res["compile"].append(c)
                    continue
                shutil.rmtree(d, ignore_errors=True)
                cmd = [quantc, "compile", fp32, "-o", d]
                if prec == "w8a8":
                    cmd += ["--scheme", "w8a8", "--calib", cal]
                log(f"{model}: quantc compile {prec}")
                try:
                    c0 = child_cpu_s()
                    p, wall = run(cmd)
                    cpu = child_cpu_s() - c0
                except RuntimeError as e:
                    res["notes"].append(f"{model} {prec}: compile failed: {str(e)[-400:]}")
                    log(res["notes"][-1])
                    continue
                with open(d + ".compile.txt", "w") as f:
                    f.write(p.stdout + p.stderr)
                arts[prec] = d
                c = {"model": model, "precision": prec, "wall_s": round(wall, 2),
                     "cpu_s": round(cpu, 2)}
                c.update(parse_compile(p.stdout))
                res["compile"].append(c)
                log(f"  {c}")
        for t in threads:
            for prec in ("fp32", "w8a8"):
                row = {"model": model, "precision": prec, "threads": t, "macs": macs,
                       "peak_gmacs": peak_for(prec, t)}
                # Rounds alternate the engines so that background load hits both; each keeps
                # its best median.
                best = lambda k, v: v if row.get(k) is None or v < row[k] else row[k]
                for r in range(a.rounds):
                    save = None
                    if prec == "w8a8" and t == threads[0] and r == 0:
                        save = os.path.join(a.work, f"{model}_std_ortopt.onnx")
                    o = ort(fp32 if prec == "fp32" else std, t, iters[mi], save)
                    row["ort_ms"] = best("ort_ms", o["median_ms"])
                    row["ort_min_ms"] = best("ort_min_ms", o["min_ms"])
                    row["ort_p90_ms"] = best("ort_p90_ms", o["p90_ms"])
                    if t == 1:
                        row["ort_cpu_ms"] = best("ort_cpu_ms", o["cpu_median_ms"])
                    if save:
                        res[f"{model}_ort_fused_ops"] = op_counts(save)
                    if prec == "w8a8":
                        oq = ort(qdq, t, iters[mi])
                        row["ort_quantc_qdq_ms"] = best("ort_quantc_qdq_ms", oq["median_ms"])
                    if prec in arts and have_bench:
                        # warm-up + 2 x iters runs (timed whole, then per step): keep a
                        # slow artifact to about --bench-s seconds after its first call
                        n = q_iters.get(prec, iters[mi])
                        try:
                            b = quantc_bench(quantc, arts[prec], t, n,
                                             f"{arts[prec]}.bench-t{t}.txt", cpu_probe=t == 1)
                        except (RuntimeError, OSError, ValueError, KeyError) as e:
                            res["notes"].append(f"{model} {prec} T={t}: bench failed: "
                                                f"{str(e)[-300:]}")
                            log(res["notes"][-1])
                            continue
                        q_iters[prec] = max(3, min(iters[mi], int(a.bench_s * 1e3 /
                                                                  (2 * b["median_ms"]))))
                        row["quantc_ms"] = best("quantc_ms", b["median_ms"])
                        if "cpu_ms" in b:
                            row["quantc_cpu_ms"] = best("quantc_cpu_ms", b["cpu_ms"])
                        row["quantc_p90_ms"] = best("quantc_p90_ms", b["p90_ms"])
                        row["rss_mb"] = b["rss_mb"]
                        row["arena_bytes"] = b["arena_bytes"]
                q = row.get("quantc_ms")
                row["ratio"] = q / row["ort_ms"] if q and row["ort_ms"] else None
                row["quantc_gmacs"] = macs / (q * 1e6) if q else None
                row["ort_gmacs"] = macs / (row["ort_ms"] * 1e6)
                pg = row["peak_gmacs"]
                row["quantc_pct_peak"] = 100 * row["quantc_gmacs"] / pg if q and pg else None
                pp = path_peak(prec, t)
                row["path_peak_gmacs"] = pp
                row["quantc_pct_path_peak"] = 100 * row["quantc_gmacs"] / pp if q and pp else None
                row["ort_pct_peak"] = 100 * row["ort_gmacs"] / pg if pg else None
                res["rows"].append(row)
                log(f"{model} {prec} T={t}: quantc {fmt(q, '.2f')} ms, ORT {row['ort_ms']:.2f} ms")

    res["elapsed_s"] = round(time.monotonic() - t_start, 1)
    res["loadavg_end"] = os.getloadavg()[0]
    with open(os.path.join(a.work, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    md = table(res)
    with open(os.path.join(a.work, "results.md"), "w") as f:
        f.write(md)
    print(md)
    return 0


def table(res):
    pk = res["peak"]
    fpk, ik = pk["fp32_best"], pk["int8_best"]
    lines = [f"CPU: {res['cpu']} ({res['cpus']} CPUs), {res['date']}, run took {res['elapsed_s']} s, "
             f"quantc {res['commit']}, load average {res['loadavg_start']:.1f} at the start, {res['loadavg_end']:.1f} at "
             "the end (other processes on the machine)", "",
             "Measured peak (benchmarks/peak.c), GMAC/s, 1 thread / "
             f"{pk['threads']} threads:", ""]
    for k in pk["kernels"]:
        lines.append(f"- {k['name']} `{k['instr']}` ({k['isa']}): {k['gmacs_1t']:.1f} / "
                     f"{k['gmacs_nt']:.1f}")
    lines += ["", f"% of peak below: fp32 against {fpk['instr'] if fpk else '-'}, W8A8 against "
              f"{ik['instr'] if ik else '-'} (the best int8 rate of the host), at T threads the "
              "1-thread peak x T; % path peak: against the instructions quantc's int8 path uses "
              "(`quantc compile`'s 'int8 path'; fp32: the same as % peak). Latencies: the better "
              "median of the alternating rounds.", "",
              "| model | precision | threads | quantc ms | ORT ms | quantc/ORT | target | "
              "quantc GMAC/s | % peak | % path peak | ORT GMAC/s | ORT % peak | ORT ms (quantc QDQ) | "
              "quantc RSS MB |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["rows"]:
        tgt = f"<= {TARGET_FP32 if r['precision'] == 'fp32' else TARGET_INT8}"
        lines.append("| " + " | ".join([
            r["model"], r["precision"], str(r["threads"]), fmt(r.get("quantc_ms"), ".1f"),
            fmt(r["ort_ms"], ".1f"), fmt(r.get("ratio"), ".2f"), tgt,
            fmt(r.get("quantc_gmacs"), ".1f"), fmt(r.get("quantc_pct_peak"), ".1f"),
            fmt(r.get("quantc_pct_path_peak"), ".1f"),
            fmt(r["ort_gmacs"], ".1f"), fmt(r.get("ort_pct_peak"), ".0f"),
            fmt(r.get("ort_quantc_qdq_ms"), ".1f"), fmt(r.get("rss_mb"), ".0f")]) + " |")
    cpu_rows = [r for r in res["rows"] if r["threads"] == 1 and r.get("ort_cpu_ms")]
    if cpu_rows:
        lines += ["", "1 thread, CPU time per run (ms; robust to other processes on the machine: "
                  "ORT: the process's CPU time per session.run, median; quantc: `quantc bench`'s "
                  "CPU time less a 1-run call's, per run):", "",
                  "| model | precision | quantc CPU ms | ORT CPU ms | quantc/ORT | target | "
                  "quantc GMAC/s | % peak | % path peak | ORT GMAC/s | ORT % peak |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in cpu_rows:
            q, o = r.get("quantc_cpu_ms"), r["ort_cpu_ms"]
            qg = r["macs"] / (q * 1e6) if q else None
            og = r["macs"] / (o * 1e6)
            pg, pp = r.get("peak_gmacs"), r.get("path_peak_gmacs")
            tgt = f"<= {TARGET_FP32 if r['precision'] == 'fp32' else TARGET_INT8}"
            lines.append("| " + " | ".join([
                r["model"], r["precision"], fmt(q, ".1f"), fmt(o, ".1f"),
                fmt(q / o if q else None, ".2f"), tgt, fmt(qg, ".1f"),
                fmt(100 * qg / pg if qg and pg else None, ".1f"),
                fmt(100 * qg / pp if qg and pp else None, ".1f"), fmt(og, ".1f"),
                fmt(100 * og / pg if pg else None, ".0f")]) + " |")
    if res["compile"]:
        lines += ["", f"Compile time, s (target < {TARGET_COMPILE_S:.0f} s for ResNet-50): `quantc "
                  "compile` as it reports itself (compile = lowering + LLVM + link; w8a8 also "
                  "quantizes first, calibrating on 4 images; compile CPU: the CPU time quantc "
                  "reports for it), the wall time of the whole command and its CPU time (both "
                  "robust to machine load):",
                  "", "| model | precision | quantize | compile | lowering | LLVM | link | "
                  "compile CPU | total | wall | command CPU | int8 path |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for c in res["compile"]:
            lines.append("| " + " | ".join([c["model"], c["precision"]] + [
                fmt(c.get(k), ".2f") for k in ("quantize_s", "compile_s", "lower_s", "llvm_s",
                                               "link_s", "compile_cpu_s", "total_s", "wall_s", "cpu_s")] +
                [c.get("int8_path", "-") if c["precision"] != "fp32" else "-"]) + " |")
    for k, v in res.items():
        if k.endswith("_ort_fused_ops"):
            lines += ["", f"ORT's optimised graph of {k[:-len('_ort_fused_ops')]} standard QDQ: " +
                      ", ".join(f"{op} {n}" for op, n in sorted(v.items(), key=lambda x: -x[1]))]
    if res["notes"]:
        lines += ["", "Notes:"] + [f"- {n}" for n in res["notes"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
