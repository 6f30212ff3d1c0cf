"""Cohort inputs for the mrivol Snakemake workflow.

Two ways to name the subjects:
  * a manifest (TSV or CSV, detected from the header line) with the columns
    subject, pre, post and optionally roi and options. Relative paths are taken
    relative to the manifest's folder. `options` holds extra mrivol-compare
    arguments for that subject, e.g. "--levels L3-S1 --contrast t2".
  * a folder laid out by subject and session (BIDS-like):
        DIR/sub-<label>/ses-<pre>/...   and   DIR/sub-<label>/ses-<post>/...
    A session folder holding exactly one image file (.nii, .nii.gz, .nrrd,
    .nhdr, .mha), at any depth, gives that file; otherwise the session folder
    is read as DICOM.

A problem that concerns one subject (a missing path, a session folder with
several images) does not stop the cohort: it is carried to that subject's job,
which records the subject as failed with the message. A problem with the
manifest itself (no subject column, duplicate subjects) is a usage error of the
whole run and raises CohortError.
"""

import csv
import hashlib
import os
import re
import shlex

IMAGE_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha")
LABEL_RE = re.compile(r"^[A-Za-z0-9]+$")


class CohortError(Exception):
    pass


class Subject:
    def __init__(self, label, pre, post, roi="", options="", problem=""):
        self.label = label
        self.pre = pre
        self.post = post
        self.roi = roi
        self.options = options
        self.problem = problem

    def input_files(self):
        """Every file the subject's result depends on (for Snakemake's
        modification-time check: touching one DICOM file reruns the subject)."""
        files = []
        for p in (self.pre, self.post, self.roi):
            if _looks_like_box(p):
                continue
            files.extend(files_under(p))
        return files

    def fingerprint(self):
        """Names, sizes and modification times of the inputs, hashed."""
        return fingerprint(self.input_files())


def fingerprint(files):
    """Names, sizes and modification times of `files`, hashed: a changed,
    touched, added or removed file changes it. Snakemake reruns a job whose
    parameters changed; its own modification-time check skips an input whose
    content checksum is unchanged, but a user who touches an input means
    'redo this subject'."""
    h = hashlib.sha256()
    for f in files:
        try:
            st = os.stat(f)
            h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{f}\0missing\n".encode())
    return h.hexdigest()[:16]


def files_under(path):
    if not path or not os.path.exists(path):
        return []
    if os.path.isfile(path):
        return [os.path.abspath(path)]
    out = []
    for root, dirs, names in os.walk(path):
        dirs.sort()
        for n in sorted(names):
            f = os.path.join(root, n)
            if os.path.isfile(f):
                out.append(os.path.abspath(f))
    return out


def is_image(name):
    low = name.lower()
    return any(low.endswith(s) for s in IMAGE_SUFFIXES)


def clean_label(raw, where):
    label = raw.strip()
    if label.startswith("sub-"):
        label = label[4:]
    if not LABEL_RE.match(label):
        raise CohortError(
            f"{where}: subject '{raw}' is not a BIDS label (letters and digits only, optional 'sub-' prefix)")
    return label


def read_manifest(path):
    if not os.path.isfile(path):
        raise CohortError(f"{path}: manifest not found")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        text = fh.read()
    lines = [l for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    if not lines:
        raise CohortError(f"{path}: manifest is empty")
    delim = "\t" if "\t" in lines[0] else ","
    rows = list(csv.DictReader(lines, delimiter=delim))
    header = [h.strip().lower() for h in (csv.reader([lines[0]], delimiter=delim).__next__())]
    for col in ("subject", "pre", "post"):
        if col not in header:
            raise CohortError(f"{path}: manifest has no '{col}' column (header: {', '.join(header)})")
    base = os.path.dirname(os.path.abspath(path))

    def resolve(p):
        p = (p or "").strip()
        if not p:
            return ""
        p = os.path.expanduser(p)
        return p if os.path.isabs(p) else os.path.normpath(os.path.join(base, p))

    subjects, seen = [], set()
    for i, row in enumerate(rows, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        label = clean_label(row.get("subject", ""), f"{path}:{i}")
        if label in seen:
            raise CohortError(f"{path}:{i}: subject '{label}' appears twice")
        seen.add(label)
        roi = row.get("roi", "")
        roi = roi if _looks_like_box(roi) else resolve(roi)
        s = Subject(label, resolve(row.get("pre")), resolve(row.get("post")), roi,
                    row.get("options", ""))
        problems = []
        for what in ("pre", "post"):
            p = getattr(s, what)
            if not p:
                problems.append(f"no {what} path in the manifest")
            elif not os.path.exists(p):
                problems.append(f"{p}: {what} not found")
        if s.roi and not os.path.exists(s.roi) and not _looks_like_box(s.roi):
            problems.append(f"{s.roi}: roi not found")
        try:
            shlex.split(s.options)
        except ValueError as e:
            problems.append(f"options '{s.options}': {e}")
        s.problem = "; ".join(problems)
        subjects.append(s)
    if not subjects:
        raise CohortError(f"{path}: manifest lists no subject")
    return subjects


def _looks_like_box(text):
    parts = (text or "").split(",")
    if len(parts) != 6:
        return False
    try:
        [float(p) for p in parts]
        return True
    except ValueError:
        return False


def _session_input(folder):
    images = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        images.extend(os.path.join(root, n) for n in sorted(names) if is_image(n))
    if len(images) == 1:
        return images[0], ""
    if len(images) > 1:
        return folder, (f"{folder}: {len(images)} image files, expected one "
                        f"({', '.join(os.path.basename(i) for i in images[:4])})")
    return folder, ""


def discover(folder, sessions=("pre", "post")):
    if not os.path.isdir(folder):
        raise CohortError(f"{folder}: cohort folder not found")
    subjects = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not (name.startswith("sub-") and os.path.isdir(path)):
            continue
        label = clean_label(name, folder)
        paths, problems = [], []
        for ses in sessions:
            sdir = os.path.join(path, f"ses-{ses}")
            if not os.path.isdir(sdir):
                paths.append(sdir)
                problems.append(f"{sdir}: session folder not found")
                continue
            p, problem = _session_input(sdir)
            paths.append(p)
            if problem:
                problems.append(problem)
        subjects.append(Subject(label, os.path.abspath(paths[0]), os.path.abspath(paths[1]),
                                problem="; ".join(problems)))
    if not subjects:
        raise CohortError(f"{folder}: no sub-* folder")
    return subjects
