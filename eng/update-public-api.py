#!/usr/bin/env python3
"""Brings every package's PublicAPI.Unshipped.txt in line with its code, from the build's own diagnostics.

usage: eng/update-public-api.py [src/Project/Project.csproj ...]   (default: every project under src/)

Rebuilds each project with the public API diagnostics as warnings, then, in its PublicAPI.Unshipped.txt:
- RS0016 (public symbol not declared): adds the symbol, exactly as the analyzer writes it;
- RS0017 (declared symbol gone or no longer public): removes it from Unshipped, or, when it had shipped, adds
  "*REMOVED*<symbol>" to Unshipped, as the analyzer expects.
A project without the two files (a new package) gets them. Lines stay sorted, so that `git diff` shows exactly what changed in the public surface. Exits non-zero when the
build fails for any other reason. Review the diff: each line is a public API change.
"""
import glob, os, re, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIAGNOSTIC = re.compile(r"(?:warning|error) (RS0016|RS0017): Symbol '(.*)' is (?:not part|part) of the declared .*\[(.*\.csproj)\]$")
HEADER = "#nullable enable"


def read(path):
    if not os.path.exists(path):
        return []
    return [line.rstrip("\n") for line in open(path, encoding="utf-8") if line.strip() and line.strip() != HEADER]


def write(path, lines):
    body = sorted(set(lines), key=lambda s: (s.lower(), s))
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join([HEADER, *body]) + "\n")


def main():
    projects = sys.argv[1:] or sorted(glob.glob(os.path.join(ROOT, "src", "*", "*.csproj")))
    changed = 0
    for project in projects:
        project = os.path.abspath(project)
        folder = os.path.dirname(project)
        for name in ("PublicAPI.Shipped.txt", "PublicAPI.Unshipped.txt"):  # a new package starts with empty lists
            if not os.path.exists(os.path.join(folder, name)):
                write(os.path.join(folder, name), [])
        result = subprocess.run(
            ["dotnet", "build", project, "--no-incremental", "-nologo", "-clp:NoSummary",
             "-p:TreatWarningsAsErrors=false", "-warnAsMessage:CS1591"],
            capture_output=True, text=True, cwd=ROOT)
        added, removed = set(), set()
        for line in result.stdout.splitlines():
            m = DIAGNOSTIC.search(line.strip())
            if m and os.path.samefile(m.group(3), project):
                (added if m.group(1) == "RS0016" else removed).add(m.group(2))
        if result.returncode != 0:
            sys.stdout.write(result.stdout[-4000:])
            sys.exit(f"public-api: {os.path.relpath(project, ROOT)} does not build")
        shipped = set(read(os.path.join(folder, "PublicAPI.Shipped.txt")))
        unshipped_path = os.path.join(folder, "PublicAPI.Unshipped.txt")
        unshipped = read(unshipped_path)
        lines = [l for l in unshipped if l not in removed] + sorted(added)
        lines += [f"*REMOVED*{s}" for s in removed if s in shipped]
        if sorted(set(lines)) != sorted(set(unshipped)):
            write(unshipped_path, lines)
            changed += 1
        print(f"public-api: {os.path.relpath(project, ROOT)}: +{len(added)} -{len(removed)}")
    print(f"public-api: {changed} file(s) rewritten; review them with git diff")


main()
