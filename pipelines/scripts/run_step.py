#!/usr/bin/env python3
"""Run one mrivol tool for one subject and record the outcome.

    run_step.py --status STATUS.json --log TOOL.log --subject S --step NAME
                [--problem TEXT] [--timeout SECONDS] -- TOOL ARGS...

The tool's stdout and stderr go to TOOL.log (beside its outputs). STATUS.json
records status "ok" or "failed", the exit code, what it means, the tool's
one-line error, the command, the tool version and the time taken. A failing
tool does not fail the Snakemake job: the subject is recorded as failed and
the rest of the cohort goes on (failure isolation). Only a problem of this
script's own (unwritable status file) makes it exit non-zero.

Both files are written under a temporary name and renamed when complete.
"""

import argparse
import json
import os
import subprocess
import sys
import time

from atomic_file import atomic_write

EXIT_MEANING = {
    0: "success",
    1: "internal error",
    2: "usage error",
    3: "invalid input",
    4: "DICOM unreadable, undecodable or ambiguous",
    5: "registration or quality-control failure",
    6: "output cannot be written",
}




def tool_version(exe):
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
        lines = out.stdout.strip().splitlines()
        return lines[0] if lines else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def error_line(log_text, code):
    lines = [l.strip() for l in log_text.splitlines() if l.strip()]
    for l in reversed(lines):
        if "error:" in l.lower():
            return l
    return lines[-1] if lines else f"exit code {code}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--status", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--subject", required=True)
    ap.add_argument("--step", required=True)
    ap.add_argument("--problem", default="")
    ap.add_argument("--skip", default="", help="record the step as skipped, with this reason")
    ap.add_argument("--timeout", type=float, default=0)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.command[1:] if a.command and a.command[0] == "--" else a.command
    if not cmd:
        ap.error("no tool command after --")

    record = {
        "schema": "mrivol.pipeline.step/1",
        "subject": a.subject,
        "step": a.step,
        "command": cmd,
        "tool_version": "",
        "log": os.path.basename(a.log),
        "host": os.uname().nodename,
        "slurm_job_id": os.environ.get("SLURM_JOB_ID", ""),
    }
    started = time.time()
    record["started"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))

    if a.skip and not a.problem:
        record.update(status="skipped", exit_code=0, exit_meaning="skipped", error="", reason=a.skip,
                      seconds=0.0)
        atomic_write(a.log, f"skipped: {a.skip}\n")
        atomic_write(a.status, json.dumps(record, indent=2) + "\n")
        return 0
    if a.problem:
        code, log_text = 3, f"{os.path.basename(cmd[0])}: error: {a.problem}\n"
        atomic_write(a.log, log_text)
    else:
        record["tool_version"] = tool_version(cmd[0])
        tmp_log = f"{a.log}.tmp-{os.getpid()}"
        os.makedirs(os.path.dirname(os.path.abspath(a.log)), exist_ok=True)
        try:
            with open(tmp_log, "w", encoding="utf-8") as fh:
                fh.write("$ " + " ".join(cmd) + "\n")
                fh.flush()
                try:
                    proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT,
                                          timeout=a.timeout if a.timeout > 0 else None)
                    code = proc.returncode
                except subprocess.TimeoutExpired:
                    code = -1
                    fh.write(f"{os.path.basename(cmd[0])}: error: timed out after {a.timeout:.0f} s (raise config runtime)\n")
                except OSError as e:
                    code = 127
                    fh.write(f"{os.path.basename(cmd[0])}: error: cannot run: {e.strerror}\n")
            with open(tmp_log, encoding="utf-8", errors="replace") as fh:
                log_text = fh.read()
            os.replace(tmp_log, a.log)
        finally:
            if os.path.exists(tmp_log):
                os.remove(tmp_log)

    record["exit_code"] = code
    record["status"] = "ok" if code == 0 else "failed"
    if code < 0:
        record["exit_meaning"] = "killed (timeout or signal)"
    else:
        record["exit_meaning"] = EXIT_MEANING.get(code, "tool not runnable" if code == 127 else "unknown")
    record["error"] = "" if code == 0 else error_line(log_text, code)
    record["seconds"] = round(time.time() - started, 3)
    atomic_write(a.status, json.dumps(record, indent=2) + "\n")
    print(f"{a.subject} {a.step}: {record['status']}"
          + (f" ({record['error']})" if code else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
