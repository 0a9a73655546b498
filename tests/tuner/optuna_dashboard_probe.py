"""Starts the real optuna-dashboard on a SQLite file and prints what its HTTP API shows.

Usage: optuna_dashboard_probe.py DASHBOARD_EXECUTABLE STORAGE_URL LOG_FILE
Runs the dashboard on a free loopback port, reads /api/studies and /api/studies/<id> for
every study, stops the server, and prints one JSON object on stdout:
  {"studies": [{"study_id", "name", "user_attrs": {key: text}, "note": {"version", "body"},
                "trials": [{"number", "state", "params": {name: external value text},
                            "intermediate_values": [[step, value]], "values",
                            "user_attrs": {key: text}}]}]}
Exits 1 with a message (and the server's log) when the server does not come up.
"""
import json
import socket
import subprocess
import sys
import time
import urllib.request


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
        return json.loads(r.read().decode("utf-8"))


def attrs(serialized):
    return {a["key"]: a["value"] for a in serialized}


def main():
    exe, url, log_path = sys.argv[1:4]
    port = free_port()
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [exe, "--host", "127.0.0.1", "--port", str(port), url], stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                sys.exit(f"optuna-dashboard exited with {server.returncode}:\n"
                         + open(log_path).read())
            try:
                get(port, "/api/meta")
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("optuna-dashboard did not answer on port %d within 120 s:\n%s"
                             % (port, open(log_path).read()))
                time.sleep(0.2)
        out = []
        for summary in get(port, "/api/studies")["study_summaries"]:
            detail = get(port, "/api/studies/%d" % summary["study_id"])
            out.append({
                "study_id": summary["study_id"],
                "name": summary["study_name"],
                "user_attrs": attrs(detail["user_attrs"]),
                "note": detail["note"],
                "trials": [{
                    "number": t["number"],
                    "state": t["state"],
                    "params": {p["name"]: p["param_external_value"] for p in t["params"]},
                    "intermediate_values": [[v["step"], v["value"]]
                                            for v in t["intermediate_values"]],
                    "values": t.get("values"),
                    "user_attrs": attrs(t["user_attrs"]),
                } for t in detail["trials"]],
            })
        print(json.dumps({"studies": out}))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
