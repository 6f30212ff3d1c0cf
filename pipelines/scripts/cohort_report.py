"""Cohort outputs of the mrivol workflow: cohort.tsv, cohort.html, pipeline.json
and the BIDS derivatives dataset_description.json.

cohort.tsv has one row per subject, in manifest order, and depends only on the
results (no times, no host names), so a local run and a cluster run of the same
cohort give byte-identical tables. Times, hosts and Slurm job ids go to
pipeline.json.
"""

import datetime
import html
import json
import os
import platform
import subprocess
import sys

from atomic_file import atomic_write

LEVELS = ["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]




def load_json(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def fmt(v, digits):
    if v is None or v == "":
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    try:
        return f"{float(v):.{digits}f}"
    except (TypeError, ValueError):
        return str(v)


def clean(text):
    return " ".join(str(text).replace("\t", " ").split())


def columns():
    cols = ["subject", "status", "failed_step", "exit_code", "error",
            "pre_mm3", "post_mm3", "change_mm3", "percent", "percent_low", "percent_high",
            "percent_binary"]
    for lv in LEVELS:
        cols += [f"{lv}_pre_mm3", f"{lv}_post_mm3", f"{lv}_percent",
                 f"{lv}_sac_pre_mm2", f"{lv}_sac_post_mm2"]
    cols += ["rotation_deg", "translation_mm", "metric_after", "mask_at_edge", "n_warnings",
             "qc_flags", "warnings", "pre_series_uid", "post_series_uid", "report"]
    return cols


def subject_row(label, deriv, out, steps):
    sdir = os.path.join(deriv, f"sub-{label}")
    row = {c: "" for c in columns()}
    row["subject"] = f"sub-{label}"
    records = [("compare", load_json(os.path.join(sdir, f"sub-{label}_compare.json")))]
    if "load" in steps:
        records += [(f"load-{s}", load_json(os.path.join(sdir, f"ses-{s}", f"sub-{label}_ses-{s}_load.json")))
                    for s in ("pre", "post")]
    if "register" in steps:
        records.append(("register", load_json(os.path.join(sdir, f"sub-{label}_register.json"))))
    if "segment" in steps:
        records += [(f"segment-{s}", load_json(os.path.join(sdir, f"ses-{s}", f"sub-{label}_ses-{s}_segment.json")))
                    for s in ("pre", "post")]
    failed = [(n, r) for n, r in records if r is None or r.get("status") == "failed"]
    flags = []
    compare = records[0][1]
    if compare is None or compare.get("status") != "ok":
        row["status"] = "failed"
        name, rec = failed[0]
        row["failed_step"] = name
        row["exit_code"] = "" if rec is None else str(rec.get("exit_code", ""))
        row["error"] = "no status record" if rec is None else clean(rec.get("error", ""))
        return row, records
    report_path = os.path.join(sdir, "compare", "report.json")
    rep = load_json(report_path)
    if rep is None:
        row["status"] = "failed"
        row["failed_step"] = "compare"
        row["exit_code"] = "0"
        row["error"] = f"{report_path}: missing or unreadable report"
        return row, records
    row["status"] = "ok"
    row["exit_code"] = "0"
    if failed:  # an intermediate step failed although the comparison ran
        row["failed_step"] = ",".join(n for n, _ in failed)
        flags.append("step_failed")
        row["error"] = clean("; ".join(f"{n}: {(r or {}).get('error', 'no status record')}" for n, r in failed))
    pre, post, ch = rep.get("pre", {}), rep.get("post", {}), rep.get("change", {})
    row["pre_mm3"] = fmt(pre.get("plexus_volume_mm3"), 2)
    row["post_mm3"] = fmt(post.get("plexus_volume_mm3"), 2)
    row["change_mm3"] = fmt(ch.get("absolute_mm3"), 2)
    row["percent"] = fmt(ch.get("percent"), 3)
    iv = ch.get("interval_percent") or ["", ""]
    row["percent_low"], row["percent_high"] = fmt(iv[0], 3), fmt(iv[1], 3)
    row["percent_binary"] = fmt(ch.get("percent_binary"), 3)
    for lv in rep.get("levels", []):
        name = lv.get("level")
        if name not in LEVELS or not lv.get("measured", True):
            continue
        row[f"{name}_pre_mm3"] = fmt(lv.get("pre_mm3"), 2)
        row[f"{name}_post_mm3"] = fmt(lv.get("post_mm3"), 2)
        row[f"{name}_percent"] = fmt(lv.get("percent"), 3)
        row[f"{name}_sac_pre_mm2"] = fmt(lv.get("dural_sac_area_pre_mm2"), 1)
        row[f"{name}_sac_post_mm2"] = fmt(lv.get("dural_sac_area_post_mm2"), 1)
    reg = rep.get("registration", {})
    row["rotation_deg"] = fmt(reg.get("rotation_deg"), 3)
    t = reg.get("translation_mm")
    if isinstance(t, list) and len(t) == 3:
        row["translation_mm"] = fmt(sum(x * x for x in t) ** 0.5, 3)
    row["metric_after"] = fmt(reg.get("metric_after"), 4)
    edge = bool(pre.get("mask_touches_field_of_view_edge") or post.get("mask_touches_field_of_view_edge"))
    row["mask_at_edge"] = "yes" if edge else "no"
    warnings = [clean(w) for w in rep.get("warnings", [])]
    row["n_warnings"] = str(len(warnings))
    row["warnings"] = " | ".join(warnings)
    if edge:
        flags.append("mask_at_edge")
    if warnings:
        flags.append("warnings")
    try:
        if float(iv[1]) - float(iv[0]) > 10:
            flags.append("wide_interval")
    except (TypeError, ValueError):
        pass
    row["qc_flags"] = ",".join(flags)
    row["pre_series_uid"] = pre.get("series_uid", "")
    row["post_series_uid"] = post.get("series_uid", "")
    row["report"] = os.path.relpath(os.path.join(sdir, "compare", "report.html"), out)
    return row, records


def svg_plot(rows):
    ok = [r for r in rows if r["status"] == "ok" and r["percent"] != ""]
    if not ok:
        return "<p>No subject completed: nothing to plot.</p>"
    vals = []
    for r in ok:
        p = float(r["percent"])
        lo = float(r["percent_low"]) if r["percent_low"] else p
        hi = float(r["percent_high"]) if r["percent_high"] else p
        vals.append((r["subject"], p, lo, hi))
    vmin = min(0.0, min(v[2] for v in vals))
    vmax = max(0.0, max(v[3] for v in vals))
    span = max(vmax - vmin, 1.0)
    vmin -= 0.08 * span
    vmax += 0.08 * span
    w, left, right, row_h, top = 720, 110, 30, 26, 30
    h = top + row_h * len(vals) + 40

    def x(v):
        return left + (v - vmin) / (vmax - vmin) * (w - left - right)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
             f'aria-label="percent change per subject" id="cohort-plot">',
             f'<line x1="{x(0):.1f}" y1="{top - 10}" x2="{x(0):.1f}" y2="{h - 30}" stroke="#888" stroke-dasharray="4 3"/>']
    for i, (name, p, lo, hi) in enumerate(vals):
        y = top + row_h * i + row_h / 2
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="13">{html.escape(name)}</text>')
        parts.append(f'<line x1="{x(lo):.1f}" y1="{y:.1f}" x2="{x(hi):.1f}" y2="{y:.1f}" stroke="#1f5fa8" stroke-width="2"/>')
        parts.append(f'<circle cx="{x(p):.1f}" cy="{y:.1f}" r="5" fill="#1f5fa8"><title>{html.escape(name)}: '
                     f'{p:+.1f}% [{lo:+.1f}, {hi:+.1f}]</title></circle>')
    # axis ticks
    step = _nice_step((vmax - vmin) / 6)
    t = step * int(vmin / step)
    while t <= vmax:
        if t >= vmin:
            parts.append(f'<line x1="{x(t):.1f}" y1="{h - 30}" x2="{x(t):.1f}" y2="{h - 25}" stroke="#333"/>')
            parts.append(f'<text x="{x(t):.1f}" y="{h - 12}" text-anchor="middle" font-size="12">{t:+g}%</text>')
        t += step
    parts.append("</svg>")
    return "\n".join(parts)


def _nice_step(raw):
    if raw <= 0:
        return 1.0
    mag = 10 ** int(f"{raw:e}".split("e")[1])
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def page(rows, tool_version, n_ok, n_failed):
    head = ["subject", "status", "pre (mm³)", "post (mm³)", "change (%)", "interval (%)", "QC", "report / error"]
    body = []
    for r in rows:
        if r["status"] == "ok":
            link = f'<a href="{html.escape(r["report"])}">report</a>'
            iv = f'{r["percent_low"]} – {r["percent_high"]}'
            cells = [r["subject"], "ok", r["pre_mm3"], r["post_mm3"], r["percent"], iv, r["qc_flags"] or "–", link]
            cls = "ok"
        else:
            cells = [r["subject"], "failed", "", "", "", "", r["failed_step"],
                     html.escape(r["error"]) + (f' (exit {r["exit_code"]})' if r["exit_code"] else "")]
            cls = "failed"
        tds = "".join(f"<td>{c if i == len(cells) - 1 else html.escape(str(c))}</td>" for i, c in enumerate(cells))
        body.append(f'<tr class="{cls}">{tds}</tr>')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mrivol cohort</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
td:first-child, th:first-child, td:last-child {{ text-align: left; }}
tr.failed {{ background: #fde8e8; }}
</style></head>
<body data-subjects="{len(rows)}" data-ok="{n_ok}" data-failed="{n_failed}">
<h1>Epidural venous plexus: change after exercise, cohort</h1>
<p>{len(rows)} subjects: {n_ok} measured, {n_failed} failed. Change = 100 × (post − pre) / pre of the
partial-volume plexus volume over the anatomy both scans cover; the bar is the sensitivity interval
reported by mrivol-compare. {html.escape(tool_version)}. The table is also in cohort.tsv.</p>
{svg_plot(rows)}
<table><thead><tr>{"".join(f"<th>{h}</th>" for h in head)}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody></table>
</body></html>
"""


def write(out, deriv, subjects, steps, config, tool_version, bin_dir, tsv, html, provenance):
    rows, details = [], []
    for label in subjects:
        row, records = subject_row(label, deriv, out, steps)
        rows.append(row)
        details.append({"subject": f"sub-{label}", "status": row["status"],
                        "steps": {n: ({k: r.get(k) for k in ("status", "exit_code", "error", "seconds",
                                                             "host", "slurm_job_id", "started", "tool_version")}
                                      if r else None) for n, r in records}})
    cols = columns()
    lines = ["\t".join(cols)] + ["\t".join(r[c] for c in cols) for r in rows]
    n_ok = sum(r["status"] == "ok" for r in rows)
    atomic_write(tsv, "\n".join(lines) + "\n")
    atomic_write(html, page(rows, tool_version, n_ok, len(rows) - n_ok))
    try:
        versions = subprocess.run([os.path.join(bin_dir, "mrivol-compare"), "--version"],
                                  capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        versions = tool_version
    try:
        import snakemake
        smk = snakemake.__version__
    except (ImportError, AttributeError):
        smk = ""
    atomic_write(os.path.join(deriv, "dataset_description.json"), json.dumps({
        "Name": "mrivol: epidural venous plexus volume change",
        "BIDSVersion": "1.8.0",
        "DatasetType": "derivative",
        "GeneratedBy": [{"Name": "mrivol", "Version": tool_version.split()[-1] if tool_version else "",
                         "Description": "mrivol-compare via the mrivol Snakemake workflow"}],
    }, indent=2) + "\n")
    atomic_write(provenance, json.dumps({
        "schema": "mrivol.pipeline/1",
        "written": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tools": versions,
        "tool_dir": bin_dir,
        "snakemake": smk,
        "python": platform.python_version(),
        "parameters": {k: v for k, v in config.items()},
        "steps": steps,
        "subjects": details,
        "summary": {"subjects": len(rows), "ok": n_ok, "failed": len(rows) - n_ok},
    }, indent=2) + "\n")
    print(f"cohort: {len(rows)} subjects, {n_ok} ok, {len(rows) - n_ok} failed -> {tsv}", file=sys.stderr)
