"""The check `vessel env check` makes, done with Python's `packaging` as pip check does it:
read a requirements file (comments, continuations, pip options and --hash skipped), read a
pip freeze, evaluate each requirement's marker and test the installed version with
`SpecifierSet.contains(version, prereleases=True)`. Timed in process; prints
{"median_us", "verdicts"} for scripts/bench_envcheck.sh.

    python scripts/bench_envcheck.py FOLDER ITERATIONS
"""
import json
import re
import statistics
import sys
import time

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

COMMENT = re.compile(r"(^|\s+)#.*$")
ENV = {
    "implementation_name": "cpython", "implementation_version": "3.11.0", "os_name": "posix",
    "platform_machine": "x86_64", "platform_release": "", "platform_system": "Linux", "platform_version": "",
    "python_full_version": "3.11.0", "platform_python_implementation": "CPython", "python_version": "3.11",
    "sys_platform": "linux", "extra": "",
}


def logical_lines(text):
    pending = []
    for line in text.splitlines():
        if line.endswith("\\") and not COMMENT.match(line):
            pending.append(line.strip("\\"))
            continue
        if pending:
            pending.append(line)
            yield "".join(pending)
            pending = []
        else:
            yield line
    if pending:
        yield "".join(pending)


def check(requirements_text, freeze_text):
    installed = {}
    for line in freeze_text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, version = line.partition("==")
        installed[canonicalize_name(name)] = Version(version)
    counts = {"satisfied": 0, "missing": 0, "wrong_version": 0, "unchecked": 0, "skipped": 0}
    for line in logical_lines(requirements_text):
        line = COMMENT.sub("", line).strip()
        if not line:
            continue
        tokens = line.split(" ")
        args = []
        for token in tokens:
            if token.startswith("-"):
                break
            args.append(token)
        argument = " ".join(args).strip()
        if not argument:
            counts["unchecked"] += 1
            continue
        requirement = Requirement(argument)
        if requirement.marker is not None and not requirement.marker.evaluate(ENV):
            counts["skipped"] += 1
            continue
        version = installed.get(canonicalize_name(requirement.name))
        if version is None:
            counts["missing"] += 1
        elif requirement.specifier.contains(version, prereleases=True):
            counts["satisfied"] += 1
        else:
            counts["wrong_version"] += 1
    return counts


def main():
    folder, iterations = sys.argv[1], int(sys.argv[2])
    with open(f"{folder}/requirements.txt") as f:
        requirements_text = f.read()
    with open(f"{folder}/freeze.txt") as f:
        freeze_text = f.read()
    samples = []
    counts = {}
    for _ in range(iterations):
        start = time.perf_counter_ns()
        counts = check(requirements_text, freeze_text)
        samples.append((time.perf_counter_ns() - start) / 1000)
    print(json.dumps({"median_us": statistics.median(samples), "verdicts": dict(sorted(counts.items()))}))


if __name__ == "__main__":
    main()
