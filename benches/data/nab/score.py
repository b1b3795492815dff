#!/usr/bin/env python3
"""Score streaming anomaly/surge detector output against NAB realTweets labels.

Independent re-implementation (standard library only) of the scoring method
published with the Numenta Anomaly Benchmark (NAB, MIT licensed, see
data/LICENSE.txt):

* The first 15% of each file (capped at 750 rows) is a probation period:
  detections there are ignored and do not count for anything.
* A labeled window is a true positive if at least one detection falls inside
  it.  Its reward is given by the earliest detection: a scaled sigmoid of the
  detection's position in the window (about +1 at the left edge, 0 at the
  right edge), times tpWeight.  An undetected window costs -fnWeight.
* Every detection outside all windows costs fpWeight times a sigmoid penalty:
  -1 if no window precedes it, otherwise rising from 0 (just after the
  previous window's right edge) towards -1 as it moves away.
* Normalized score = 100 * (raw - null) / (perfect - null), where over the
  scored set of files null = -fnWeight * windows and perfect = tpWeight *
  windows.  NAB normalizes over its whole 58-file corpus; here the set is
  whatever files are scored (the six files shipped here by default).

A detector's results file must have a header with a `timestamp` column and an
`anomaly_score` (float in [0, 1]; detection = score >= threshold) and/or an
`alarm` (0/1) column.  With anomaly_score, the threshold is either given
(--threshold, or NAB's per-profile optimized ones via --nab-thresholds) or
found by sweeping every distinct score value, maximizing the summed raw score
over the scored files per profile, as NAB's optimizer does.
"""

import argparse
import csv
import glob
import json
import math
import os
import sys
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(HERE, "realTweets")
WINDOWS_PATH = os.path.join(HERE, "combined_windows_realTweets.json")
LABELS_PATH = os.path.join(HERE, "combined_labels_realTweets.json")
PROFILES_PATH = os.path.join(HERE, "profiles.json")
THRESHOLDS_PATH = os.path.join(HERE, "thresholds.json")

PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
ALL_FILES = ("AAPL", "AMZN", "CRM", "CVS", "FB", "GOOG")
OPEN_FILES = ("AAPL", "AMZN", "CRM", "CVS", "FB", "GOOG")
HELDOUT_FILES = ()
FILE_SETS = {"all": ALL_FILES, "open": OPEN_FILES, "heldout": HELDOUT_FILES, "held-out": HELDOUT_FILES}

PROBATION_FRACTION = 0.15
PROBATION_CAP_ROWS = 750  # 0.15 * 5000
NO_DETECTION = float("inf")  # threshold meaning "never alarm"


def _scaled_sigmoid(x):
    """2*sigmoid(-5x) - 1, clamped to -1 far to the right (x > 3)."""
    if x > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


_MAX_TP = _scaled_sigmoid(-1.0)


def parse_ts(s):
    return datetime.fromisoformat(s.strip())


def file_key(name):
    """'AAPL', 'Twitter_volume_AAPL.csv', 'x/Twitter_volume_AAPL' -> 'Twitter_volume_AAPL.csv'."""
    base = os.path.basename(name)
    if not base.endswith(".csv"):
        base += ".csv"
    if not base.startswith("Twitter_volume_"):
        base = "Twitter_volume_" + base
    return base


def load_profiles(path=PROFILES_PATH):
    with open(path) as f:
        raw = json.load(f)
    return {name: raw[name]["CostMatrix"] for name in PROFILES}


class FileContext:
    """Per-row geometry of one data file: probation, window membership and
    the unweighted sigmoid value of a detection at each row."""

    def __init__(self, name, timestamps, windows, labels=()):
        self.name = name
        self.timestamps = timestamps
        n = len(timestamps)
        self.n = n
        self.probation = min(math.floor(PROBATION_FRACTION * n), PROBATION_CAP_ROWS)
        index = {t: i for i, t in enumerate(timestamps)}
        self.windows = []  # (left_idx, right_idx)
        for start, end in windows:
            a, b = parse_ts(start), parse_ts(end)
            if a not in index or b not in index:
                raise ValueError("%s: window %s..%s not aligned to data rows" % (name, start, end))
            self.windows.append((index[a], index[b]))
        self.windows.sort()
        # earliest labeled anomaly point inside each window (None if unknown)
        lab = sorted(index[parse_ts(t)] for t in labels if parse_ts(t) in index)
        self.label_idx = [next((j for j in lab if l <= j <= r), None) for l, r in self.windows]
        # win[i]: window number or -1; unw[i]: unweighted value of a detection at i
        self.win = [-1] * n
        self.unw = [-1.0] * n
        prev_right = prev_width = None
        wi = 0
        i = 0
        while i < n:
            if wi < len(self.windows) and i == self.windows[wi][0]:
                left, right = self.windows[wi]
                width = float(right - left + 1)
                for j in range(left, right + 1):
                    self.win[j] = wi
                    self.unw[j] = _scaled_sigmoid(-(right - j + 1) / width)
                prev_right, prev_width = right, width
                wi += 1
                i = right + 1
                continue
            if prev_right is not None:
                self.unw[i] = _scaled_sigmoid(abs(prev_right - i) / (prev_width - 1.0))
            i += 1
        # windows that contain at least one scorable (post-probation) row
        self.scorable_windows = sorted({self.win[i] for i in range(self.probation, n) if self.win[i] >= 0})

    def contribution(self, i, cost):
        """Weighted score of a detection at row i (TP reward or FP penalty)."""
        if self.win[i] >= 0:
            return self.unw[i] * cost["tpWeight"] / _MAX_TP
        return self.unw[i] * cost["fpWeight"]


_CTX_CACHE = {}


def load_context(key, data_dir=DATA_DIR, windows_path=WINDOWS_PATH):
    ck = (key, data_dir, windows_path)
    if ck not in _CTX_CACHE:
        with open(windows_path) as f:
            allwin = json.load(f)
        path = os.path.join(data_dir, key)
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        ts = [parse_ts(r["timestamp"]) for r in rows]
        wins = allwin.get("realTweets/" + key, allwin.get(key, []))
        labs = []
        if os.path.exists(LABELS_PATH):
            with open(LABELS_PATH) as f:
                labs = json.load(f).get("realTweets/" + key, [])
        _CTX_CACHE[ck] = FileContext(key, ts, wins, labs)
    return _CTX_CACHE[ck]


def find_result_file(results_dir, key):
    exact = os.path.join(results_dir, key)
    if os.path.exists(exact):
        return exact
    cands = glob.glob(os.path.join(results_dir, "*_" + key))
    if len(cands) == 1:
        return cands[0]
    raise FileNotFoundError("no unique results file for %s in %s (found %d)" % (key, results_dir, len(cands)))


def read_results(path, ctx, column):
    """Return (values aligned to ctx rows, column used)."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        cols = reader.fieldnames or []
        if column == "auto":
            column = "alarm" if "alarm" in cols else "anomaly_score"
        if column not in cols or "timestamp" not in cols:
            raise ValueError("%s: needs columns timestamp and %s (has %s)" % (path, column, cols))
        by_ts = {parse_ts(r["timestamp"]): float(r[column]) for r in reader}
    missing = [t for t in ctx.timestamps if t not in by_ts]
    if missing:
        raise ValueError("%s: %d data timestamps missing, first %s" % (path, len(missing), missing[0]))
    return [by_ts[t] for t in ctx.timestamps], column


def score_file(ctx, values, threshold, cost):
    """Score one file with detections = values >= threshold."""
    best = {}  # window -> earliest detection row
    fp = fp_sum = 0
    tp_points = window_rows = 0
    for i in range(ctx.probation, ctx.n):
        w = ctx.win[i]
        window_rows += w >= 0
        if values[i] < threshold:
            continue
        if w >= 0:
            tp_points += 1
            if w not in best or i < best[w]:
                best[w] = i
        else:
            fp += 1
            fp_sum += ctx.contribution(i, cost)
    raw = fp_sum
    latencies, lat_label = [], []
    for w in ctx.scorable_windows:
        if w in best:
            raw += ctx.contribution(best[w], cost)
            left = ctx.windows[w][0]
            latencies.append((ctx.timestamps[best[w]] - ctx.timestamps[left]).total_seconds() / 60.0)
            if ctx.label_idx[w] is not None:
                lat_label.append((ctx.timestamps[best[w]] - ctx.timestamps[ctx.label_idx[w]]).total_seconds() / 60.0)
        else:
            raw -= cost["fnWeight"]
    nw = len(ctx.scorable_windows)
    return {
        "file": ctx.name,
        "windows": nw,
        "tp": len(best),
        "fn": nw - len(best),
        "fp": fp,
        "tp_points": tp_points,
        "fn_points": window_rows - tp_points,
        "raw": raw,
        "null": -cost["fnWeight"] * nw,
        "perfect": cost["tpWeight"] * nw,
        "latencies_min": latencies,
        "lat_label": lat_label,
    }


def normalized(raw, null, perfect):
    if perfect == null:
        return float("nan")
    return 100.0 * (raw - null) / (perfect - null)


def total_of(rows):
    t = {"file": "TOTAL"}
    for k in ("windows", "tp", "fn", "fp", "tp_points", "fn_points", "raw", "null", "perfect"):
        t[k] = sum(r[k] for r in rows)
    t["latencies_min"] = [x for r in rows for x in r["latencies_min"]]
    t["lat_label"] = [x for r in rows for x in r["lat_label"]]
    return t


def finish(row):
    lat = row.pop("latencies_min")
    row["mean_latency_min"] = sum(lat) / len(lat) if lat else None
    lab = row.pop("lat_label")
    row["mean_latency_vs_label_min"] = sum(lab) / len(lab) if lab else None
    row["normalized"] = normalized(row["raw"], row["null"], row["perfect"])
    return row


def sweep(ctxs, values_list, cost):
    """NAB-style threshold optimization over a set of files for one profile.
    Returns (best_threshold, best_raw); the highest threshold wins ties."""
    pts = []
    n_windows = 0
    for fi, (ctx, vals) in enumerate(zip(ctxs, values_list)):
        n_windows += len(ctx.scorable_windows)
        for i in range(ctx.probation, ctx.n):
            w = ctx.win[i]
            pts.append((vals[i], ctx.contribution(i, cost), (fi, w) if w >= 0 else None))
    pts.sort(key=lambda p: -p[0])
    fnw = cost["fnWeight"]
    total = -fnw * n_windows
    best_win = {}
    best_thr, best_raw = NO_DETECTION, total
    k = 0
    while k < len(pts):
        thr = pts[k][0]
        while k < len(pts) and pts[k][0] == thr:
            _, c, w = pts[k]
            if w is None:
                total += c
            else:
                old = best_win.get(w, -fnw)
                if c > old:
                    total += c - old
                    best_win[w] = c
            k += 1
        if total > best_raw + 1e-12:
            best_thr, best_raw = thr, total
    return best_thr, best_raw


def evaluate(results_dir, files=ALL_FILES, column="auto", threshold=None,
             per_profile_thresholds=None, do_sweep=True, profiles=None):
    """Score a results directory. Returns a dict with 'fixed' (if a threshold
    is given or the column is alarm) and 'swept' (anomaly_score only)."""
    profiles = profiles or load_profiles()
    keys = [file_key(f) for f in files]
    ctxs = [load_context(k) for k in keys]
    vals, used = [], None
    for k, ctx in zip(keys, ctxs):
        v, used = read_results(find_result_file(results_dir, k), ctx, column)
        vals.append(v)
    out = {"results_dir": results_dir, "column": used, "files": keys}

    def run(thr_by_profile):
        res = {}
        for p, cost in profiles.items():
            thr = thr_by_profile[p]
            rows = [score_file(c, v, thr, cost) for c, v in zip(ctxs, vals)]
            tot = finish(total_of(rows))
            res[p] = {"threshold": thr, "total": tot, "per_file": [finish(r) for r in rows]}
        return res

    if used == "alarm":
        out["fixed"] = run({p: 0.5 for p in profiles})
        return out
    if per_profile_thresholds is not None:
        out["fixed"] = run(per_profile_thresholds)
    elif threshold is not None:
        out["fixed"] = run({p: threshold for p in profiles})
    if do_sweep:
        thr = {p: sweep(ctxs, vals, cost)[0] for p, cost in profiles.items()}
        out["swept"] = run(thr)
    return out


def _fmt(x, nd=2):
    if x is None:
        return "-"
    if isinstance(x, float):
        if math.isinf(x):
            return "inf"
        return "%.*f" % (nd, x)
    return str(x)


def print_report(name, res, fh=sys.stdout):
    p = res["standard"]
    w = fh.write
    w("== %s  (thresholds: %s)\n" % (name, ", ".join("%s=%s" % (k, _fmt(v["threshold"], 6)) for k, v in res.items())))
    w("%-26s %4s %3s %3s %5s %8s %8s %8s %8s %8s %8s\n" % (
        "file", "win", "TP", "FN", "FP", "lat_min", "lat_lbl", "raw_std", "std", "lowFP", "lowFN"))
    n = len(p["per_file"])
    for i in range(n + 1):
        r = {q: (res[q]["per_file"][i] if i < n else res[q]["total"]) for q in res}
        s = r["standard"]
        w("%-26s %4d %3d %3d %5d %8s %8s %8s %8s %8s %8s\n" % (
            s["file"], s["windows"], s["tp"], s["fn"], s["fp"], _fmt(s["mean_latency_min"], 0),
            _fmt(s["mean_latency_vs_label_min"], 0),
            _fmt(s["raw"], 3), _fmt(s["normalized"]), _fmt(r["reward_low_FP_rate"]["normalized"]),
            _fmt(r["reward_low_FN_rate"]["normalized"])))
    for q in ("reward_low_FP_rate", "reward_low_FN_rate"):
        t = res[q]["total"]
        if res[q]["threshold"] != p["threshold"]:
            w("   %s at its own threshold: TP=%d FN=%d FP=%d lat=%s norm=%s\n" % (
                q, t["tp"], t["fn"], t["fp"], _fmt(t["mean_latency_min"], 0), _fmt(t["normalized"])))
    w("(TP/FN = windows; FP = alarm rows outside windows after probation; lat_min = mean minutes from window\n"
      " start to first alarm in window; lat_lbl = same but from the labeled anomaly point (negative = early);\n"
      " counts/latencies are for the standard profile's threshold; std/lowFP/lowFN = normalized NAB scores)\n")


def json_totals(out):
    j = {"column": out["column"], "files": out["files"]}
    for mode in ("fixed", "swept"):
        if mode in out:
            j[mode] = {p: dict(r["total"], threshold=(None if math.isinf(r["threshold"]) else r["threshold"]))
                       for p, r in out[mode].items()}
    return j


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results_dir", help="directory with one CSV per data file (Twitter_volume_X.csv or *_Twitter_volume_X.csv)")
    ap.add_argument("--files", default="all",
                    help="comma list of tickers/file names, or a set name: all, open, held-out (default all)")
    ap.add_argument("--column", choices=("auto", "alarm", "anomaly_score"), default="auto",
                    help="auto: alarm if present, else anomaly_score")
    ap.add_argument("--threshold", type=float, help="detection = anomaly_score >= THRESHOLD (all profiles)")
    ap.add_argument("--nab-thresholds", metavar="DETECTOR",
                    help="use NAB's published optimized per-profile thresholds for DETECTOR (data/thresholds.json)")
    ap.add_argument("--no-sweep", action="store_true", help="skip the threshold sweep")
    ap.add_argument("--json", action="store_true", help="print machine-readable totals as JSON")
    a = ap.parse_args(argv)

    files = FILE_SETS.get(a.files) or tuple(x for x in a.files.split(",") if x)
    ppt = None
    if a.nab_thresholds:
        with open(THRESHOLDS_PATH) as f:
            t = json.load(f)[a.nab_thresholds]
        ppt = {p: t[p]["threshold"] for p in PROFILES}
    out = evaluate(a.results_dir, files, a.column, a.threshold, ppt, not a.no_sweep)
    if a.json:
        json.dump(json_totals(out), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    print("results: %s  column: %s  files: %d" % (a.results_dir, out["column"], len(out["files"])))
    if "fixed" in out:
        print_report("fixed" if out["column"] != "alarm" else "alarm column", out["fixed"])
    if "swept" in out:
        print_report("swept (best threshold per profile on these files; optimistic)", out["swept"])


if __name__ == "__main__":
    main()
