#!/usr/bin/env python3
"""Python's `packaging` (pinned in scripts/requirements-test.txt) answering Vessel's
differential tests of PEP 440 and PEP 508 (Tests/VesselCoreTests/Environment/).

One process answers every case: JSON lines on stdin, one JSON line out per line in.

  {"op": "version", "text": T}             -> {"normal": str(Version(T))} or {"invalid": true}
  {"op": "compare", "a": A, "b": B}        -> {"order": -1|0|1}
  {"op": "contains", "spec": S, "version": V}
                                           -> {"result": SpecifierSet(S, prereleases=True).contains(V)}
                                              or {"invalid": true} when S is not a specifier set
  {"op": "marker", "marker": M, "python": "3.12", "platform": "linux"}
                                           -> {"result": bool}, {"invalid": true} (does not parse)
                                              or {"error": true} (undefined comparison)
  {"op": "requirement", "text": R}         -> {"name", "extras", "specifier", "url", "marker"} or {"invalid": true}

The marker environment is the one Vessel builds (MarkerEnvironment.swift): CPython on Linux
x86_64 with the Python version and the platform of the case.
"""
import json
import sys

import packaging
from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

SYSTEMS = {"linux": ("Linux", "posix"), "darwin": ("Darwin", "posix"), "win32": ("Windows", "nt")}


def environment(python, platform):
    parts = python.split(".")
    short = ".".join(parts[:2])
    full = short + "." + (parts[2] if len(parts) > 2 else "0")
    system, os_name = SYSTEMS[platform]
    return {
        "implementation_name": "cpython",
        "implementation_version": full,
        "os_name": os_name,
        "platform_machine": "x86_64",
        "platform_release": "",
        "platform_system": system,
        "platform_version": "",
        "python_full_version": full,
        "platform_python_implementation": "CPython",
        "python_version": short,
        "sys_platform": platform,
        "extra": "",
    }


def answer(case):
    op = case["op"]
    if op == "version":
        try:
            return {"normal": str(Version(case["text"]))}
        except InvalidVersion:
            return {"invalid": True}
    if op == "compare":
        a, b = Version(case["a"]), Version(case["b"])
        return {"order": -1 if a < b else (1 if a > b else 0)}
    if op == "contains":
        try:
            specifiers = SpecifierSet(case["spec"], prereleases=True)
        except InvalidSpecifier:
            return {"invalid": True}
        return {"result": specifiers.contains(case["version"])}
    if op == "marker":
        try:
            marker = Marker(case["marker"])
        except InvalidMarker:
            return {"invalid": True}
        try:
            return {"result": marker.evaluate(environment(case["python"], case["platform"]))}
        except (UndefinedComparison, UndefinedEnvironmentName):
            return {"error": True}
    if op == "requirement":
        try:
            r = Requirement(case["text"])
        except InvalidRequirement:
            return {"invalid": True}
        return {"name": r.name, "extras": sorted(r.extras), "specifier": str(r.specifier),
                "url": r.url, "marker": None if r.marker is None else str(r.marker)}
    raise ValueError(f"unknown op {op!r}")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--version":
        print(packaging.__version__)
        return
    out = sys.stdout
    for line in sys.stdin:
        if line.strip():
            out.write(json.dumps(answer(json.loads(line))) + "\n")


if __name__ == "__main__":
    main()
