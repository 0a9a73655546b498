#!/usr/bin/env bash
# The pruners' compute savings (issue #15.3): the demo study (examples/demo.json: NNET2 on the
# generated demo dataset, its sampler, seeds and search space, as one stage) run once per
# pruner, with the same seeds, against the median pruner measured in the same run (the
# reference: the demo's own pruner). Prints for each pruner the epochs trained (the store's
# intermediate values: one per epoch each trial ran), the trials' wall time, the best
# val_loss of the COMPLETE trials (the final quality), and the ratio of epochs to the
# median's. Builds nothing; only runs the binaries.
#
#   bench/pruner_savings.sh [--build DIR] [--work DIR] [--out results.json]
#
# --build DIR: DIR/tuner/mgr-tune, DIR/trainer/mgr-train (a LibTorch build), DIR/tools/
# mgr-make-dataset (default: build). --work: the dataset (generated once, kept), clip cache,
# stores and run folders; default ${TMPDIR:-/tmp}/mgr-pruner-savings.
# Environment: MGR_BENCH_TRIALS (trials per study, 16), MGR_BENCH_EPOCHS (max_epochs, 10),
# MGR_BENCH_SEEDS (sampler and worker seeds, one study per seed and pruner, "0"),
# MGR_BENCH_PRUNERS (of nop median percentile threshold patient successive_halving hyperband
# wilcoxon; all), MGR_BENCH_WORKERS (CPU workers, 1: with one, the
# decisions and so the epoch counts do not depend on timing), MGR_BENCH_TOL (val_loss a
# pruner's best may exceed the median's and still count as equal quality, 0.02),
# MGR_BENCH_KEEP=1 (reuse the runs of an earlier call with the same trials, epochs and
# workers: add seeds or pruners one call at a time).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
die() { echo "pruner_savings.sh: $*" >&2; exit 2; }

build=build work="${TMPDIR:-/tmp}/mgr-pruner-savings" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '10,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument \"$1\" (--help lists them)" ;;
  esac
done
tune=$build/tuner/mgr-tune train=$build/trainer/mgr-train make_ds=$build/tools/mgr-make-dataset
for b in "$tune" "$train" "$make_ds"; do
  [ -x "$b" ] || die "$b: not an executable (build mgr-tune mgr-train mgr-make-dataset first)"
done
tune=$(realpath "$tune") train=$(realpath "$train") make_ds=$(realpath "$make_ds")
trials=${MGR_BENCH_TRIALS:-16} epochs=${MGR_BENCH_EPOCHS:-10} seeds=${MGR_BENCH_SEEDS:-0}
workers=${MGR_BENCH_WORKERS:-1} tol=${MGR_BENCH_TOL:-0.02}
pruners=${MGR_BENCH_PRUNERS:-"nop median percentile threshold patient successive_halving hyperband wilcoxon"}
[[ "$trials" =~ ^[1-9][0-9]*$ ]] || die "MGR_BENCH_TRIALS must be a positive integer"
[[ "$epochs" =~ ^[1-9][0-9]*$ ]] || die "MGR_BENCH_EPOCHS must be a positive integer"
[[ "$workers" =~ ^[1-9][0-9]*$ ]] || die "MGR_BENCH_WORKERS must be a positive integer"
case " $pruners " in *" median "*) ;; *) pruners="median $pruners" ;; esac  # the reference
python=/usr/bin/python3
mkdir -p "$work"
work=$(realpath "$work")
out=${out:-$work/results.json}

if [ ! -f "$work/data/fma_metadata/tracks.csv" ]; then
  echo "pruner_savings: generating the demo dataset in $work/data"
  "$make_ds" --size demo --out "$work/data" --seed 0 > "$work/make-dataset.log" 2>&1 ||
    { cat "$work/make-dataset.log" >&2; exit 1; }
fi

# study-<seed>-<pruner>.json: the demo study with this run's folders, one stage searching
# the demo's parameters (lr, channels, dense layers) with `trials` trials of `epochs` epochs.
# The pruners' options suit `epochs`-epoch learning curves (step = epoch, from 1).
make_study() {  # seed pruner [trials epochs]
  "$python" - "$root/examples/demo.json" "$work" "$1" "$2" "${3:-$trials}" "${4:-$epochs}" \
    "$workers" <<'EOF'
import json, sys
src, work, seed, pruner = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
trials, epochs, workers = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
s = json.load(open(src))
s.pop("$schema", None)
s["dataset"].update(metadata="data/fma_metadata/tracks.csv", audio_dir="data/fma_small",
                    cache_dir="cache")
tag = "%d-%s" % (seed, pruner)
s["storage"] = "stores/%s.db" % tag
s["run_dir"] = "runs/%s" % tag
s["fixed"]["max_epochs"] = epochs
s["fixed"]["patience"] = epochs  # no early stopping inside a trial: only the pruner stops one
s["sampler"]["seed"] = seed
s["seed"] = seed
s["workers"].update(cpu_workers=workers, threads_per_worker=1)
params = {}
for st in s["stages"]:
    params.update(st.get("params", {}))
s["stages"] = [{"name": "search", "trials": trials, "params": params}]
median = {"type": "median", "n_startup_trials": 2, "n_warmup_steps": 1}  # the demo's
s["pruner"] = {
    "nop": {"type": "nop"},
    "median": median,
    "percentile": {**median, "type": "percentile", "percentile": 25.0},
    # Above chance (ln 8 for 8 genres) after 2 epochs: a run that does not learn.
    "threshold": {"type": "threshold", "upper": 2.0794, "n_warmup_steps": 2},
    "patient": {"type": "patient", "patience": 2, "min_delta": 0.01, "wrapped": median},
    "successive_halving": {"type": "successive_halving", "min_resource": 1,
                           "reduction_factor": 3},
    "hyperband": {"type": "hyperband", "min_resource": 1, "max_resource": epochs,
                  "reduction_factor": 3},
    "wilcoxon": {"type": "wilcoxon"},
}[pruner]
json.dump(s, open("%s/study-%s.json" % (work, tag), "w"), indent=1)
EOF
}

# The clip cache, filled once (a one-epoch study), so that no measured run decodes audio.
if [ ! -d "$work/cache" ]; then
  echo "pruner_savings: filling the clip cache"
  mkdir -p "$work/stores"
  make_study 0 nop 1 1 && mv "$work/study-0-nop.json" "$work/study-warmup.json"
  (cd "$work" && "$tune" run study-warmup.json --plain --no-export --worker "$train" --gpus 0) \
    > "$work/warmup.log" 2>&1 || { tail -30 "$work/warmup.log" >&2; die "warm-up failed"; }
fi

runs=()
for seed in $seeds; do
  for p in $pruners; do
    tag=$seed-$p
    runs+=("$seed:$p")
    # MGR_BENCH_KEEP=1: a run finished earlier with the same settings is reused.
    key="$trials $epochs $workers"
    if [ "${MGR_BENCH_KEEP:-0}" = 1 ] && [ -f "$work/stores/$tag.wall" ] &&
      [ "$(cut -d' ' -f2- "$work/stores/$tag.wall")" = "$key" ]; then
      echo "pruner_savings: seed $seed, $p: kept from an earlier run"
      continue
    fi
    make_study "$seed" "$p"
    rm -rf "$work/stores/$tag".* "$work/runs/$tag"
    echo "pruner_savings: seed $seed, $p ($trials trials x $epochs epochs, $workers worker(s)) ..."
    t0=$(date +%s.%N)
    (cd "$work" && "$tune" run "study-$tag.json" --plain --no-export --worker "$train" --gpus 0) \
      > "$work/$tag.log" 2>&1 || { tail -30 "$work/$tag.log" >&2; die "mgr-tune failed ($tag)"; }
    t1=$(date +%s.%N)
    echo "$(echo "$t1 - $t0" | bc) $key" > "$work/stores/$tag.wall"
  done
done

"$python" - "$work" "$out" "$tol" "$trials" "$epochs" "$workers" "${runs[@]}" <<'EOF'
import json, os, sqlite3, statistics, sys
work, out, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
trials, epochs, workers = sys.argv[4:7]
rows = []
for run in sys.argv[7:]:
    seed, pruner = run.split(":")
    db = sqlite3.connect("%s/stores/%s-%s.db" % (work, seed, pruner))
    wall = float(open("%s/stores/%s-%s.wall" % (work, seed, pruner)).read().split()[0])
    # One intermediate value per epoch a trial ran (step = epoch).
    ep = db.execute("SELECT COUNT(*) FROM trial_intermediate_values").fetchone()[0]
    states = dict(db.execute("SELECT state, COUNT(*) FROM trials GROUP BY state").fetchall())
    best = db.execute("SELECT MIN(v.value) FROM trial_values v JOIN trials t USING (trial_id) "
                      "WHERE t.state = 'COMPLETE'").fetchone()[0]
    span = db.execute("SELECT (julianday(MAX(datetime_complete)) - julianday(MIN(datetime_start)))"
                      " * 86400 FROM trials").fetchone()[0]
    rows.append({"seed": int(seed), "pruner": pruner, "epochs": ep, "trials_seconds": span,
                 "wall_seconds": wall, "best_val_loss": best,
                 "complete": states.get("COMPLETE", 0), "pruned": states.get("PRUNED", 0)})
ref = {r["seed"]: r for r in rows if r["pruner"] == "median"}
for r in rows:
    r["epochs_vs_median"] = r["epochs"] / ref[r["seed"]]["epochs"]
print("\n%d trials x %d epochs, %d CPU worker(s), load average now %s"
      % (int(trials), int(epochs), int(workers), open("/proc/loadavg").read().split()[0]))
print("%-5s %-19s %7s %8s %15s %9s %9s %13s" % ("seed", "pruner", "epochs", "vs med",
      "complete/pruned", "trials s", "wall s", "best val_loss"))
for r in rows:
    print("%-5d %-19s %7d %7.2fx %15s %9.0f %9.0f %13s" % (
        r["seed"], r["pruner"], r["epochs"], r["epochs_vs_median"],
        "%d/%d" % (r["complete"], r["pruned"]), r["trials_seconds"] or 0, r["wall_seconds"],
        "-" if r["best_val_loss"] is None else "%.4f" % r["best_val_loss"]))
# Over the seeds: the epochs' ratio and whether the mean best is within `tol` of the median's.
print("\n%-19s %13s %15s %8s" % ("pruner", "epochs/median", "mean best", "quality"))
summary = {}
for p in dict.fromkeys(r["pruner"] for r in rows):
    mine = [r for r in rows if r["pruner"] == p]
    bests = [r["best_val_loss"] for r in mine if r["best_val_loss"] is not None]
    med = [ref[r["seed"]]["best_val_loss"] for r in mine if r["best_val_loss"] is not None]
    ratio = sum(r["epochs"] for r in mine) / sum(ref[r["seed"]]["epochs"] for r in mine)
    mean = statistics.mean(bests) if bests else None
    same = mean is not None and med and mean <= statistics.mean(med) + tol
    summary[p] = {"epochs_vs_median": ratio, "mean_best_val_loss": mean, "equal_quality": bool(same)}
    print("%-19s %12.2fx %15s %8s" % (p, ratio, "-" if mean is None else "%.4f" % mean,
                                      "same" if same else "worse"))
print("(same: mean best val_loss <= the median's + %g)" % tol)
json.dump({"trials": int(trials), "epochs": int(epochs), "workers": int(workers), "tol": tol,
           "runs": rows, "summary": summary}, open(out, "w"), indent=1)
print("results: " + out)
EOF
