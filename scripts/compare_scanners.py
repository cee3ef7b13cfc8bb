#!/usr/bin/env python3
"""Compare Vessel's scanner with picklescan 1.0.5 and modelscan 0.8.8 over the fixture corpus.

Runs the real Swift scanner (the `vessel-scan` executable of this package) and both Python
scanners in-process, then writes docs/scanner-comparison.md: every fixture where any of them
disagrees with the committed expectation, with the reason.

    swift build -c release --product vessel-scan
    .venv/bin/python scripts/compare_scanners.py [--vessel .build/release/vessel-scan]

Pins (in .venv): picklescan==1.0.5 modelscan==0.8.8 numpy==1.26.4 joblib==1.6.0.
"""
import argparse
import contextlib
import io
import json
import logging
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "Tests" / "VesselFormatsTests" / "Fixtures" / "scan"
REPORT = ROOT / "docs" / "scanner-comparison.md"


def run_vessel(binary):
    out = subprocess.run([binary, "--json", str(CORPUS)], capture_output=True, text=True, check=False)
    if out.returncode not in (0, 1, 2):
        sys.exit(f"vessel-scan failed: {out.stderr}")
    items = json.loads(out.stdout)["items"]
    results = {}
    for item in items:
        kinds = sorted({f["kind"] for f in item["findings"]})
        results[pathlib.Path(item["path"]).name] = (item["verdict"], ", ".join(kinds))
    return results


def run_picklescan(path):
    from picklescan.scanner import scan_file_path
    try:
        result = scan_file_path(str(path))
    except Exception as error:  # picklescan raising is itself a result worth recording
        return "error", f"raised {type(error).__name__}"
    flagged = sorted({f"{g.module}.{g.name}" for g in result.globals if g.safety.name != "Innocuous"})
    if result.scan_err:
        return "error", "scan error"
    if result.issues_count or result.infected_files:
        return "unsafe", ", ".join(flagged)[:80]
    if result.scanned_files == 0:
        return "skipped", "not scanned"
    return "safe", ""


def run_modelscan(path):
    from modelscan.modelscan import ModelScan
    scanner = ModelScan()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            report = scanner.scan(str(path))
        except Exception as error:
            return "error", f"raised {type(error).__name__}"
    issues = report.get("issues", [])
    errors = report.get("errors", [])
    summary = report.get("summary", {})
    scanned = summary.get("scanned", {}).get("total_scanned", 0)
    if issues:
        names = sorted({f"{i.get('scanner', '').split('.')[-1]}:{i.get('operator', '')}" for i in issues})
        return "unsafe", ", ".join(names)[:80]
    if errors:
        return "error", str(errors[0].get("description", ""))[:60]
    if not scanned:
        return "skipped", "not scanned"
    return "safe", ""


def equivalent(expected, verdict):
    """A tool's verdict that means the same as the expected one."""
    want = expected["verdict"]
    if verdict == want:
        return True
    if want == "invalid" and verdict == "error":
        return True  # both refuse to call it safe
    if want == "safe" and verdict == "skipped" and expected["format"] in ("data", "safetensors"):
        return True  # not a pickle-based file: nothing to scan
    return False


def reason(name, expected, tool, verdict, detail):
    want = expected["verdict"]
    note = expected.get("note") or ", ".join(expected["kinds"]) or expected["format"]
    if want == "unsafe" and verdict in ("safe", "skipped"):
        return f"{tool} misses it ({note})"
    if want == "unsafe" and verdict == "error":
        return f"{tool} errors instead of flagging it ({note})"
    if want == "safe" and verdict == "unsafe":
        return f"{tool} flags a benign file ({detail})"
    if want == "safe" and verdict in ("error", "skipped"):
        return f"{tool} cannot read a benign file ({detail or verdict})"
    if want == "invalid" and verdict == "safe":
        return f"{tool} passes a file that cannot be loaded ({note}); Vessel fails closed"
    if want == "invalid" and verdict == "skipped":
        return f"{tool} skips it silently ({note}); Vessel fails closed"
    if want == "invalid" and verdict == "unsafe":
        return f"{tool} reports an issue on a malformed file ({detail})"
    if "please inst" in detail:
        return f"{tool} needs TensorFlow installed to read .keras files"
    if want == "safe" and verdict == "invalid":
        return "Vessel refuses a benign file"
    return f"{tool}: {verdict} {detail}".strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vessel", default=str(ROOT / ".build" / "release" / "vessel-scan"))
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    expected = json.loads((CORPUS / "expected.json").read_text())["fixtures"]
    vessel = run_vessel(args.vessel)
    rows = []
    tally = {tool: {"agree": 0, "disagree": 0} for tool in ("vessel", "picklescan", "modelscan")}
    for name in sorted(expected):
        want = expected[name]
        path = CORPUS / name
        verdicts = {
            "vessel": vessel.get(name, ("missing", "")),
            "picklescan": run_picklescan(path),
            "modelscan": run_modelscan(path),
        }
        reasons = []
        for tool, (verdict, detail) in verdicts.items():
            ok = equivalent(want, verdict)
            tally[tool]["agree" if ok else "disagree"] += 1
            if not ok:
                reasons.append(reason(name, want, tool, verdict, detail))
        if any(not equivalent(want, v) for v, _ in verdicts.values()):
            rows.append((name, want["verdict"], verdicts, "; ".join(reasons)))

    lines = [
        "# Scanner comparison: Vessel vs picklescan 1.0.5 vs modelscan 0.8.8",
        "",
        "Generated by `scripts/compare_scanners.py` over the fixture corpus",
        "(`Tests/VesselFormatsTests/Fixtures/scan`, expectations in `expected.json`). Vessel's column",
        "comes from running the real Swift scanner (`vessel-scan --json`). Verdicts: `safe`, `unsafe`,",
        "`invalid` (Vessel: cannot be judged, fails closed), `error` (the tool raised or reported a scan",
        "error; counted as agreeing with `invalid`), `skipped` (the tool scanned nothing in the file;",
        "counted as agreeing with `safe` for plain data and safetensors files).",
        "",
        "| tool | agrees with expected | disagrees |",
        "|---|---|---|",
    ]
    for tool, counts in tally.items():
        lines.append(f"| {tool} | {counts['agree']} | {counts['disagree']} |")
    lines += [
        "",
        f"## Fixtures where a tool disagrees with the expected verdict ({len(rows)} of {len(expected)})",
        "",
        "| fixture | expected | Vessel | picklescan | modelscan | reason |",
        "|---|---|---|---|---|---|",
    ]
    for name, want, verdicts, why in rows:
        cells = [f"{verdicts[t][0]}" + (f" ({verdicts[t][1]})" if verdicts[t][1] and t == "vessel" else "")
                 for t in ("vessel", "picklescan", "modelscan")]
        lines.append(f"| `{name}` | {want} | {' | '.join(cells)} | {why.replace('|', '/')} |")
    lines += [
        "",
        "Notes: `invalid` is Vessel's fail-closed answer for files that claim a pickle-based format but",
        "are empty, truncated, corrupt or use a compression Vessel does not read; a scanner that calls",
        "such a file `safe` lets an unscanned artifact through. picklescan and modelscan are denylists, so",
        "any primitive missing from their lists (or reached through an alias, the memo or a computed",
        "name) passes; Vessel's allowlist flags every import it has not reviewed.",
        "",
    ]
    REPORT.write_text("\n".join(lines))
    print(f"wrote {REPORT.relative_to(ROOT)}: {len(rows)} rows; " + ", ".join(f"{t} {c['agree']}/{len(expected)}" for t, c in tally.items()))


if __name__ == "__main__":
    main()
