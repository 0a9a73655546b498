#!/usr/bin/env bash
# bench/race.sh end to end on the CPU, as CI runs it (the wall times are printed, never
# asserted): both sides run every stage's trials of the demo study, none fails, the Python
# side ran exactly the trials mgr-tune's store holds (same count per stage), and a ratio is
# reported. Usage: race_test.sh BUILD_DIR WORK_DIR
set -euo pipefail
build=$1 work=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$work/results.json"
bash "$root/bench/race.sh" --build "$build" --work "$work" --out "$work/results.json"
/usr/bin/python3 - "$work/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
budget = {"base": 5, "channels": 5, "dense": 6}  # examples/demo.json's stages
for side in ("mgr_tune", "python"):
    stages = {s["stage"]: s for s in r[side]["stages"]}
    assert set(stages) == set(budget), (side, sorted(stages))
    for name, n in budget.items():
        s = stages[name]
        assert s["trials"] == n, (side, name, s["trials"], n)
        assert s["failed"] == 0, (side, name, s)
        assert 0 <= s["pruned"] < n, (side, name, s)
        assert s["best_val_loss"] > 0, (side, name, s)
assert r["ratio"] > 0 and r["mgr_tune"]["seconds"] > 0 and r["python"]["seconds"] > 0, r
print("race_test: both sides ran %s trials per stage; ratio python / mgr-tune %.2f"
      % (budget, r["ratio"]))
PY
