#!/usr/bin/env bash
# examples/slurm/mgr-tune.sbatch on a real (single-node) Slurm: an array of 3 tasks, each
# one orchestrator, on one study in one store. Checks, with Python Optuna reading the store
# and the fake worker's log of every run: every stage's budget is exact (COMPLETE trials),
# no trial and no final seed ran twice, and the summary of the final training exists.
#
#   slurm_test.sh MGR_TUNE FAKE_WORKER SLURM_CONF STORAGE_URL_OR_EMPTY PYTHON
#
# STORAGE_URL_OR_EMPTY: a file holding a PostgreSQL URL (the postgres_server fixture's), or
# "" for a SQLite file (one node shares it).
set -euo pipefail
[ $# -eq 5 ] || { echo "usage: $0 MGR_TUNE FAKE_WORKER SLURM_CONF URL_FILE|'' PYTHON" >&2; exit 2; }
mgr_tune=$1
fake=$2
export SLURM_CONF=$3
url_file=$4
python=$5
root=$(cd "$(dirname "$0")/../.." && pwd)

work=$(mktemp -d /tmp/mgr-slurm-XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
name="slurm-$$-$RANDOM"
if [ -n "$url_file" ]; then
  # A database of its own: other tests leave their tables in the server's default one.
  server=$(cat "$url_file")
  db="slurm_$$_$RANDOM"
  "$python" - "$server" "$db" <<'PY'
import sys, psycopg2
conn = psycopg2.connect(sys.argv[1])
conn.autocommit = True
conn.cursor().execute(f"CREATE DATABASE {sys.argv[2]}")
PY
  storage="${server%/*}/$db"
else
  storage="sqlite:///$work/study.db"
fi

cat >"$work/study.json" <<JSON
{
  "name": "$name",
  "storage": "$storage",
  "run_dir": "$work/runs",
  "dataset": {"metadata": "tracks.csv", "audio_dir": "audio", "cache_dir": "cache"},
  "model": {"family": "nnet2"},
  "fixed": {"max_epochs": 2, "sleep_per_epoch": 0.2},
  "retune": {"lr": {"type": "float", "low": 1e-5, "high": 1.0, "log": true}},
  "sampler": {"type": "tpe", "seed": 3},
  "pruner": {"type": "nop"},
  "stages": [
    {"name": "base", "trials": 9},
    {"name": "quality", "trials": 6,
     "params": {"quality": {"type": "float", "low": 0.0, "high": 1.0}}}
  ],
  "final": {"max_epochs": 2, "seeds": 3},
  "workers": {"gpus": [], "cpu_workers": 1},
  "heartbeat": {"interval": 0.5, "grace": 5}
}
JSON

export MGR_TUNE=$mgr_tune MGR_WORKER=$fake MGR_FAKE_LOG=$work/fake.log
echo "slurm_test: sbatch --array=0-2 examples/slurm/mgr-tune.sbatch (store $storage)"
# One CPU per task (the script asks for a whole node's 16): this machine has 2 cores.
if ! timeout 300 sbatch --wait --array=0-2 --cpus-per-task=1 -o "$work/task-%a.out" \
    "$root/examples/slurm/mgr-tune.sbatch" "$work/study.json"; then
  echo "slurm_test: the array failed or did not end within 300 s; squeue says:" >&2
  squeue >&2 || true
  scancel --user="$(id -un)" 2>/dev/null || true
  for f in "$work"/task-*.out; do echo "--- $f"; cat "$f"; done >&2
  exit 1
fi
for i in 0 1 2; do
  [ -s "$work/task-$i.out" ] || { echo "slurm_test: task $i wrote no output" >&2; exit 1; }
done

"$python" - "$storage" "$name" "$work/fake.log" "$work/runs/final/result.json" <<'PY'
import collections, json, sys
import optuna

url, name, log_path, result_path = sys.argv[1:]
optuna.logging.set_verbosity(optuna.logging.WARNING)
# Our stores carry Optuna 3.2's stamp (docs/storage.md); Debian's Optuna is 3.1.
storage = optuna.storages.RDBStorage(url, skip_compatibility_check=True)
errors = []
for stage, budget in (("base", 9), ("quality", 6)):
    study = optuna.load_study(study_name=f"{name}/{stage}", storage=storage)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) != budget:
        errors.append(f"{stage}: {len(complete)} COMPLETE trials, budget {budget}")
runs = [json.loads(line) for line in open(log_path)]
starts = collections.Counter()
for r in runs:
    if "trial" in r:
        starts[(r["trial"]["study"], r["trial"]["number"], r.get("seed"))] += 1
twice = {k: n for k, n in starts.items() if n > 1}
if twice:
    errors.append(f"ran more than once: {twice}")
finals = sorted(r["seed"] for r in runs if r.get("trial", {}).get("study") == f"{name}/final")
if finals != [0, 1, 2]:
    errors.append(f"final seeds run: {finals}, want [0, 1, 2] once each")
pids = {r["ppid"] for r in runs if "ppid" in r}
result = json.load(open(result_path))
if result.get("summary", {}).get("accuracy", {}).get("n") != 3:
    errors.append(f"final/result.json has no summary over 3 seeds: {result}")
if errors:
    print("slurm_test: " + "; ".join(errors), file=sys.stderr)
    sys.exit(1)
print(f"slurm_test: budgets exact, {sum(starts.values())} runs, none twice, "
      f"{len(pids)} orchestrators ran workers")
PY
