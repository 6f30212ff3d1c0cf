#!/usr/bin/env python3
"""Submit one Snakemake job script to Slurm; print the job id (Snakemake's
--cluster contract). The rule's threads, resources.mem_mb and
resources.runtime (minutes) become --cpus-per-task, --mem and --time; Slurm's
output goes to NAME.slurm-JOBID.log beside the rule's first log file (its
folder is created first,
since sbatch does not create it). MRIVOL_SBATCH_ARGS adds site options."""
import json
import os
import re
import shlex
import subprocess
import sys


def read_job_properties(path):
    # the job script carries them as "# properties = {json}" (Snakemake's jobscript)
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            m = re.match(r"^# properties = (.*)$", line)
            if m:
                return json.loads(m.group(1))
    sys.exit(f"submit.py: {path}: no job properties line")


jobscript = sys.argv[-1]
props = read_job_properties(jobscript)
res = props.get("resources", {})
rule = props.get("rule", "job")
wildcards = props.get("wildcards", {})
name = "mrivol." + rule + "".join(f".{v}" for v in wildcards.values())

cmd = ["sbatch", "--parsable", f"--job-name={name}", f"--cpus-per-task={props.get('threads', 1)}"]
if res.get("mem_mb"):
    cmd.append(f"--mem={int(res['mem_mb'])}")
if res.get("runtime"):
    cmd.append(f"--time={int(res['runtime'])}")
logs = props.get("log", [])
if logs:
    # beside the rule's log, not the log itself: Snakemake empties a job's log
    # files when the job starts on the node
    log = os.path.abspath(logs[0])
    os.makedirs(os.path.dirname(log), exist_ok=True)
    stem = log[:-len(".job.log")] if log.endswith(".job.log") else log
    cmd.append(f"--output={stem}.slurm-%j.log")
else:
    cmd.append("--output=/dev/null")
cmd += shlex.split(os.environ.get("MRIVOL_SBATCH_ARGS", ""))
cmd.append(jobscript)

out = subprocess.run(cmd, capture_output=True, text=True)
if out.returncode != 0:
    sys.stderr.write(f"submit.py: sbatch failed ({out.returncode}): {out.stderr.strip()}\n")
    sys.exit(out.returncode)
print(out.stdout.strip().split(";")[0])
