#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the sweep integration test and for trying `workbench sweep` locally:
# munged + slurmctld + slurmd, the node sized to this machine (all its CPUs, no accounting database), every file
# (config, state, logs, munge key and socket) under one folder, so nothing in /etc is changed.
#
#   bash environment/slurm-local.sh start    # installs slurm-wlm and munge with apt when missing (root), starts, waits until the node is idle
#   bash environment/slurm-local.sh stop     # stops the daemons this script started (by their pid files)
#   bash environment/slurm-local.sh status
#   bash environment/slurm-local.sh running  # exit 0 when all three daemons of this folder run
#   bash environment/slurm-local.sh env      # prints `export SLURM_CONF=...`: eval it to use sbatch/squeue/scancel against this cluster
#
# Folder: $WORKBENCH_SLURM_DIR (default /tmp/workbench-slurm). Ports 16817/16818 (not Slurm's defaults, so an existing
# cluster on this machine is not disturbed). Exit code 3 means Slurm cannot be had here (no apt, not root): callers skip.
set -euo pipefail
dir="${WORKBENCH_SLURM_DIR:-/tmp/workbench-slurm}"
conf="$dir/slurm.conf"
node="$(hostname -s)"

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && command -v sbatch >/dev/null; then return 0; fi
  if ! command -v apt-get >/dev/null; then echo "slurm-local: slurm-wlm and munge are not installed and apt-get is unavailable" >&2; exit 3; fi
  if [ "$(id -u)" != 0 ]; then echo "slurm-local: slurm-wlm and munge are not installed and this is not root (sudo apt-get install slurm-wlm munge)" >&2; exit 3; fi
  echo "slurm-local: installing slurm-wlm munge" >&2
  export DEBIAN_FRONTEND=noninteractive
  (apt-get install -y -q slurm-wlm munge >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q slurm-wlm munge >/dev/null; }) \
    || { echo "slurm-local: apt-get install slurm-wlm munge failed" >&2; exit 3; }
}

write_config() {
  mkdir -p "$dir/state" "$dir/spool" "$dir/munge" "$dir/log"
  chmod 700 "$dir/munge"
  # A key of this cluster only (munge refuses keys readable by others).
  [ -f "$dir/munge/munge.key" ] || { dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none; chmod 400 "$dir/munge/munge.key"; }
  local cpus mem
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))   # half the memory: the rest is the machine's
  cat > "$conf" <<CONF
# Written by environment/slurm-local.sh for $node: one node, $cpus CPUs, no accounting database.
ClusterName=workbench
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobContainerType=job_container/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=workbench Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
}

start() {
  install_packages
  write_config
  export SLURM_CONF="$conf"
  if ! pid_alive "$dir/munged.pid"; then
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" --pid-file="$dir/munged.pid" \
      --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munge.seed"
  fi
  pid_alive "$dir/slurmctld.pid" || slurmctld -i
  pid_alive "$dir/slurmd.pid" || slurmd -N "$node"
  for _ in $(seq 1 60); do
    if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      echo "slurm-local: up ($node, $(nproc) CPUs); export SLURM_CONF=$conf"
      return 0
    fi
    scontrol update nodename="$node" state=resume >/dev/null 2>&1 || true
    sleep 1
  done
  echo "slurm-local: the node did not become idle in 60 s; see $dir/log/" >&2
  sinfo -N >&2 || true
  exit 1
}

stop() {
  for d in slurmd slurmctld munged; do
    if pid_alive "$dir/$d.pid"; then
      kill "$(cat "$dir/$d.pid")"
      for _ in $(seq 1 20); do pid_alive "$dir/$d.pid" || break; sleep 0.5; done
    fi
    rm -f "$dir/$d.pid"
  done
  echo "slurm-local: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) export SLURM_CONF="$conf"; sinfo -N; squeue ;;
  running) pid_alive "$dir/munged.pid" && pid_alive "$dir/slurmctld.pid" && pid_alive "$dir/slurmd.pid" ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) echo "usage: $0 start|stop|status|running|env" >&2; exit 2 ;;
esac
