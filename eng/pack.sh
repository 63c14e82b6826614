#!/usr/bin/env bash
# Packs every package under src/ into one folder, with symbols, and checks what nuget.org will show of each: its own
# README, description, tags, licence expression, repository URL and commit, and a .snupkg beside it.
# usage: eng/pack.sh OUTPUT_DIR [VERSION]   (VERSION defaults to the projects' own)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mkdir -p "$1" && cd "$1" && pwd)
version_args=()
[ -n "${2:-}" ] && version_args=("-p:Version=$2")

for project in src/*/*.csproj; do
  dotnet pack "$project" -c Release -o "$out" -p:ContinuousIntegrationBuild=true "${version_args[@]}" >"$out/pack.log" 2>&1 || {
    tail -40 "$out/pack.log"; echo "pack: $project failed"; exit 1; }
done
rm -f "$out/pack.log"

python3 - "$out" src/*/*.csproj <<'PY'
import os, re, sys, zipfile
out, projects = sys.argv[1], sys.argv[2:]
ns = "{*}"  # the schema version varies with what a package declares
import xml.etree.ElementTree as ET
for project in projects:
    name = os.path.basename(project)[:-len(".csproj")]
    nupkgs = [f for f in os.listdir(out) if re.fullmatch(re.escape(name) + r"\.\d[^A-Za-z]*(-[\w.]+)?\.nupkg", f)]
    assert len(nupkgs) == 1, f"{name}: packages {nupkgs}"
    nupkg = os.path.join(out, nupkgs[0])
    snupkg = nupkg[:-len(".nupkg")] + ".snupkg"
    with zipfile.ZipFile(nupkg) as z:
        meta = ET.fromstring(z.read(f"{name}.nuspec")).find(f"{ns}metadata")
        get = lambda tag: (meta.find(f"{ns}{tag}").text or "") if meta.find(f"{ns}{tag}") is not None else ""
        files = z.namelist()
        readme = z.read("README.md").decode() if "README.md" in files else ""
    repo = meta.find(f"{ns}repository")
    problems = [p for p, bad in [
        ("no description", len(get("description")) < 20),
        ("no tags", len(get("tags").split()) < 3),
        ("licence is not an expression", meta.find(f"{ns}license") is None or meta.find(f"{ns}license").get("type") != "expression"),
        ("no repository url/commit", repo is None or not repo.get("url") or not re.fullmatch(r"[0-9a-f]{40}", repo.get("commit") or "")),
        ("no README of its own (src/<Package>/README.md, starting '# <Package>')", not readme.startswith(f"# {name}\n")),
        ("no XML docs", f"lib/net10.0/{name}.xml" not in files),
        ("no symbols package", not os.path.exists(snupkg)),
    ] if bad]
    assert not problems, f"{name}: {', '.join(problems)}"
    print(f"pack: {os.path.basename(nupkg)} {os.path.getsize(nupkg) / 1024:.0f} KiB, symbols {os.path.getsize(snupkg) / 1024:.0f} KiB")
PY
