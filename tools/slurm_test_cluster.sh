#!/usr/bin/env bash
# A scratch single-node Slurm cluster for the cluster tests: munged (Debian's munge, its
# key in /etc/munge) and slurmctld + slurmd (Debian's slurm-wlm) with their own config,
# state and logs in DIR, on two free ports, so nothing of a system Slurm is touched.
#
#   tools/slurm_test_cluster.sh start DIR   # writes DIR/slurm.conf; export SLURM_CONF=DIR/slurm.conf
#   tools/slurm_test_cluster.sh stop DIR    # stops the daemons it started and removes DIR
#
# Needs root (slurmd starts jobs as their user; munged runs as user munge). Fails with a
# message naming the missing package when the binaries are absent: the tests that need
# the cluster must not silently skip.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

for bin in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sbatch /usr/sbin/munged; do
  if [ ! -x "$bin" ]; then
    echo "slurm_test_cluster: $bin is missing: install Debian's slurm-wlm and munge" \
      "(tools/install_deps.sh)" >&2
    exit 1
  fi
done
if [ "$(id -u)" -ne 0 ]; then
  echo "slurm_test_cluster: needs root (slurmd runs the jobs, munged runs as user munge)" >&2
  exit 1
fi

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# munged: one per machine at its default socket, shared by every cluster; started if absent.
start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return; fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "slurm_test_cluster: munged did not start (see /var/log/munge/munged.log)" >&2
  exit 1
}

stop_daemons() {
  for d in slurmd slurmctld; do
    if [ -s "$dir/$d.pid" ]; then
      kill "$(cat "$dir/$d.pid")" 2>/dev/null || true
    fi
  done
  for _ in $(seq 50); do
    alive=0
    for d in slurmd slurmctld; do
      [ -s "$dir/$d.pid" ] && kill -0 "$(cat "$dir/$d.pid")" 2>/dev/null && alive=1
    done
    [ $alive -eq 0 ] && return
    sleep 0.1
  done
}

case "$cmd" in
  start)
    if [ -d "$dir" ]; then stop_daemons; fi
    rm -rf "$dir"
    mkdir -p "$dir/state" "$dir/spool"
    dir=$(cd "$dir" && pwd)
    start_munge
    node=$(hostname -s)
    cpus=$(nproc)
    cat >"$dir/slurm.conf" <<CONF
ClusterName=mgrtest
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
NodeName=$node CPUs=$cpus State=UNKNOWN
# Oversubscribed: the tests run more one-CPU tasks at once than this machine has cores.
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
CONF
    export SLURM_CONF=$dir/slurm.conf
    /usr/sbin/slurmctld -f "$SLURM_CONF" || { cat "$dir/slurmctld.log" >&2; exit 1; }
    /usr/sbin/slurmd -f "$SLURM_CONF" || { cat "$dir/slurmd.log" >&2; exit 1; }
    for _ in $(seq 100); do
      if sinfo -h -o %t 2>/dev/null | grep -qx idle; then
        echo "$SLURM_CONF"
        exit 0
      fi
      sleep 0.2
    done
    echo "slurm_test_cluster: the node did not come up idle: sinfo says" \
      "'$(sinfo -h -o %t 2>&1)'; logs in $dir" >&2
    cat "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
    exit 1
    ;;
  stop)
    [ -d "$dir" ] || exit 0
    stop_daemons
    rm -rf "$dir"
    ;;
  *) usage ;;
esac
