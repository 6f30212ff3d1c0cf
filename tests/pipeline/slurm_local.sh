#!/usr/bin/env bash
# A single-node Slurm on this machine, for the pipeline test (and for trying
# the Slurm profile without a cluster):
#   slurm_local.sh start DIR   starts munged, slurmctld and slurmd with their
#                              own key, socket, ports, state and logs in DIR
#                              and prints the line to source: export SLURM_CONF=...
#   slurm_local.sh stop DIR    stops the daemons started in DIR
# Needs root (slurmd runs jobs as their submitter) and the Debian packages
# slurm-wlm and munge. Nothing outside DIR is changed.
set -euo pipefail

cmd=${1:?usage: slurm_local.sh start|stop DIR}
dir=${2:?usage: slurm_local.sh start|stop DIR}

stop() {
  for name in slurmd slurmctld munged; do
    pidf="$dir/$name.pid"
    [ -f "$pidf" ] || continue
    pid=$(cat "$pidf" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidf"
  done
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi
[ "$cmd" = start ] || { echo "slurm_local.sh: unknown command $cmd" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "slurm_local.sh: needs root" >&2; exit 1; }
for exe in munged slurmctld slurmd sbatch; do
  command -v "$exe" >/dev/null || { echo "slurm_local.sh: $exe not found (install slurm-wlm and munge)" >&2; exit 1; }
done

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
chmod 0700 "$dir"
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 0700 "$dir/munge"
head -c 1024 /dev/urandom > "$dir/munge/munge.key"
chmod 0400 "$dir/munge/munge.key"

# Two free TCP ports.
read -r port_ctld port_d < <(python3 - <<'PY'
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])
PY
)
host=$(hostname -s)
mem=$(awk '/MemTotal/ {printf "%d", $2/1024*0.8}' /proc/meminfo)
cpus=$(nproc)

cat > "$dir/slurm.conf" <<CONF
ClusterName=mrivoltest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port_ctld
SlurmdPort=$port_d
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=3600
PlugStackConfig=$dir/plugstack.conf
NodeName=mrivol-node NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=mrivol Nodes=mrivol-node Default=YES MaxTime=INFINITE State=UP
CONF
: > "$dir/plugstack.conf"

trap 'stop' ERR
munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge/seed" --force
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N mrivol-node

# Wait until the node takes jobs.
for _ in $(seq 120); do
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1 || true)
  case "$state" in idle|mixed|allocated) break ;; esac
  sleep 0.5
done
case "$state" in
  idle|mixed|allocated) ;;
  *) echo "slurm_local.sh: node did not come up (state '$state'); logs in $dir" >&2
     tail -5 "$dir"/slurmctld.log "$dir"/slurmd.log >&2 || true
     stop; exit 1 ;;
esac
echo "export SLURM_CONF=$dir/slurm.conf"
