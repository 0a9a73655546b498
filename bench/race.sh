#!/usr/bin/env bash
# The end-to-end race (issue #11): the demo study (examples/demo.json's stages) run by mgr-tune,
# then the same trials with the same hyperparameters run by the Python reference
# (bench/race_reference.py: Optuna + PyTorch + torchaudio), in the same run. Prints the wall
# time of each side, per-phase times, pruned trials and best val_loss per stage, and the ratio
# python / mgr-tune. Builds nothing.
#
#   bench/race.sh [--build DIR | --mgr-tune P --mgr-train P --mgr-make-dataset P]
#                 [--work DIR] [--device cpu|cuda] [--python PY] [--workers 2] [--threads 1]
#                 [--out results.json]
#
# --build DIR: the binaries of a build folder (DIR/tuner/mgr-tune, DIR/trainer/mgr-train,
# DIR/tools/mgr-make-dataset). --work: where the dataset (kept between runs), the stores, the
# run folders and the clip cache (removed before each run) go; default
# ${TMPDIR:-/tmp}/mgr-race. --device cuda: mgr-tune runs --workers trials on the first GPU,
# Python on cuda:0 with n_jobs = --workers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
usage() { sed -n '8,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
die() { echo "race.sh: $*" >&2; exit 2; }

build="" tune="" train="" make_ds="" work="${TMPDIR:-/tmp}/mgr-race" device=cpu
python=/usr/bin/python3 workers=2 threads=1 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --mgr-tune) tune=$2; shift 2 ;;
    --mgr-train) train=$2; shift 2 ;;
    --mgr-make-dataset) make_ds=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h | --help) usage ;;
    *) die "unknown argument \"$1\" (--help lists them)" ;;
  esac
done
if [ -n "$build" ]; then
  tune=${tune:-$build/tuner/mgr-tune}
  train=${train:-$build/trainer/mgr-train}
  make_ds=${make_ds:-$build/tools/mgr-make-dataset}
fi
for b in "$tune" "$train" "$make_ds"; do
  [ -n "$b" ] || die "give --build DIR or all of --mgr-tune, --mgr-train, --mgr-make-dataset"
  [ -x "$b" ] || die "$b: not an executable (build mgr-tune mgr-train mgr-make-dataset first)"
done
case "$device" in cpu | cuda) ;; *) die "--device must be cpu or cuda, got \"$device\"" ;; esac
[[ "$workers" =~ ^[1-9][0-9]*$ ]] || die "--workers must be a positive integer, got \"$workers\""
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || die "--threads must be a positive integer, got \"$threads\""
command -v "$python" > /dev/null || die "--python $python: not found"
tune=$(realpath "$tune") train=$(realpath "$train") make_ds=$(realpath "$make_ds")
mkdir -p "$work"
work=$(realpath "$work")
out=${out:-$work/results.json}

# The dataset: generated once, reused (both sides read the same MP3s, page cache warm).
if [ ! -f "$work/data/fma_metadata/tracks.csv" ]; then
  echo "race: generating the demo dataset in $work/data"
  "$make_ds" --size demo --out "$work/data" --seed 0 > "$work/make-dataset.log" 2>&1 ||
    { cat "$work/make-dataset.log" >&2; exit 1; }
fi

# The study: examples/demo.json with this run's folders and worker layout.
rm -rf "$work/cache" "$work/mgr-runs" "$work"/mgr.db*
"$python" - "$root/examples/demo.json" "$work" "$workers" "$threads" <<'EOF'
import json, sys
src, work, workers, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = json.load(open(src))
s.pop("$schema", None)
s["dataset"].update(metadata="data/fma_metadata/tracks.csv", audio_dir="data/fma_small",
                    cache_dir="cache")
s["storage"] = "mgr.db"
s["run_dir"] = "mgr-runs"
s["workers"].update(cpu_workers=workers, trials_per_gpu=workers, threads_per_worker=threads)
json.dump(s, open(work + "/study.json", "w"), indent=1)
EOF

gpus=(--gpus 0)
[ "$device" = cuda ] && gpus=()  # discover: one GPU, --workers trials on it
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

echo "race: mgr-tune ($device, $workers workers x $threads threads) ..."
t0=$(date +%s.%N)
(cd "$work" && "$tune" run study.json --plain --worker "$train" "${gpus[@]}") \
  > "$work/mgr-tune.log" 2>&1 || { tail -30 "$work/mgr-tune.log" >&2; die "mgr-tune failed"; }
t1=$(date +%s.%N)

echo "race: Python reference ($device, Optuna n_jobs $workers, torch threads $threads) ..."
pydev=$device
[ "$device" = cuda ] && pydev=cuda:0
t2=$(date +%s.%N)
"$python" "$here/race_reference.py" --study "$work/study.json" --mgr-store "$work/mgr.db" \
  --device "$pydev" --workers "$workers" --threads "$threads" \
  --out "$work/python.json" > "$work/python.log" 2>&1 ||
  { tail -30 "$work/python.log" >&2; die "the Python reference failed"; }
t3=$(date +%s.%N)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

"$python" - "$work" "$out" "$t0" "$t1" "$t2" "$t3" "$load_before" "$load_after" "$device" <<'EOF'
import datetime, glob, json, os, re, sys
work, out = sys.argv[1], sys.argv[2]
t0, t1, t2, t3 = map(float, sys.argv[3:7])
py = json.load(open(work + "/python.json"))
mgr = py.pop("mgr")

def ts(s):  # the store's UTC datetimes
    return datetime.datetime.strptime(s, "%Y-%m-%d %H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp()

stages = mgr["stages"]
first = min(ts(s["first_start"]) for s in stages if s["first_start"])
last = max(ts(s["last_complete"]) for s in stages if s["last_complete"])
final = mgr.get("final_result") or {}
# Per-phase figures from mgr-tune's own lines: the prepare summary and each epoch's seconds
# (worker logs: "... epoch 2/4 ... | 3.1 s").
log = open(work + "/mgr-tune.log").read()
prep = re.findall(r"prepare: \d+/\d+ tracks in ([0-9.]+)s", log)
epoch_s = [float(x) for f in glob.glob(work + "/mgr-runs/trials/*/*/worker-*.log")
           for x in re.findall(r" epoch \d+/\d+ .*\| ([0-9.]+) s$", open(f).read(), re.M)]
trial_s = sum(s["trial_seconds"] for s in stages)
m = {"seconds": t1 - t0, "until_first_trial_seconds": first - t0,
     "prepare_seconds": float(prep[-1]) if prep else None,
     "trials_seconds": last - first, "after_last_trial_seconds": t1 - last,
     "epochs": sum(s["epochs"] for s in stages), "epoch_seconds_mean":
     sum(epoch_s) / len(epoch_s) if epoch_s else None,
     "trial_seconds_sum": trial_s,
     "trial_overhead_seconds_mean": (trial_s - sum(epoch_s)) / max(1, sum(s["trials"] for s in stages)),
     "stages": stages,
     "test": {k: final.get("test", {}).get(k) for k in ("loss", "accuracy")}}
p = {"seconds": t3 - t2, **py}
r = {"device": sys.argv[9], "load_before": sys.argv[7], "load_after": sys.argv[8],
     "cpus": os.cpu_count(), "mgr_tune": m, "python": p, "ratio": p["seconds"] / m["seconds"]}
json.dump(r, open(out, "w"), indent=1)

f = lambda v: "-" if v is None else ("%.4f" % v if isinstance(v, float) else str(v))
print("\n%-34s %12s %12s" % ("", "mgr-tune", "python"))
print("%-34s %12.1f %12.1f" % ("wall seconds, end to end", m["seconds"], p["seconds"]))
print("%-34s %12.1f %12.1f" % ("  start-up + decode / clip cache", m["until_first_trial_seconds"],
                                p["import_seconds"] + p["decode_seconds"]))
print("%-34s %12.1f %12.1f" % ("  trials (all stages)", m["trials_seconds"],
                                sum(s["seconds"] for s in p["stages"])))
print("%-34s %12.1f %12.1f" % ("  export / test evaluation", m["after_last_trial_seconds"],
                                p["test_seconds"]))
print("%-34s %12s %12.1f" % ("  of which decoding (prepare)", "-" if m["prepare_seconds"] is None
                             else "%.1f" % m["prepare_seconds"], p["decode_seconds"]))
print("%-34s %12s %12s" % ("epochs run", m["epochs"], p["epochs"]))
print("%-34s %12s %12.2f" % ("  seconds per epoch (train + val)", "-" if m["epoch_seconds_mean"]
                             is None else "%.2f" % m["epoch_seconds_mean"],
                             p["train_seconds_per_epoch"] + p["val_seconds_per_epoch"]))
print("%-34s %12.2f %12s" % ("  per-trial overhead (start, load)",
                             m["trial_overhead_seconds_mean"], "-"))
for a, b in zip(stages, p["stages"]):
    print("%-34s %12s %12s" % ("stage %s: trials / pruned" % a["stage"],
                               "%d / %d" % (a["trials"], a["pruned"]),
                               "%d / %d" % (b["trials"], b["pruned"])))
    print("%-34s %12s %12s" % ("  best val_loss", f(a["best_val_loss"]), f(b["best_val_loss"])))
print("%-34s %12s %12s" % ("test accuracy (incumbent)", f(m["test"]["accuracy"]),
                           f(p.get("test", {}).get("accuracy"))))
print("\nratio python / mgr-tune (wall): %.2fx   [%s; load average before %s, after %s]"
      % (r["ratio"], sys.argv[9], sys.argv[7], sys.argv[8]))
print("results: " + out)
EOF
