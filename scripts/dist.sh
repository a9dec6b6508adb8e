#!/usr/bin/env bash
# scripts/dist.sh: one release archive of todo-dev for one target.
#
#   scripts/dist.sh [--target TRIPLE] [--out DIR] [--release-url URL]
#
# Builds `cargo build --release --locked` for TRIPLE (default: this host;
# DIST_CARGO="cargo zigbuild" cross-builds as the release workflow does) and
# writes to DIR (default target/dist):
#   todo-dev-vVERSION-TRIPLE.tar.gz (.zip for Windows): the binary, README,
#     CHANGELOG, both licenses, THIRD-PARTY-LICENSES.md (scripts/dist/licenses.py,
#     which refuses a license or source we have not agreed to), share/'s
#     completions (bash, zsh, fish, PowerShell) and man pages;
#   the same name + .sha256, in `sha256sum` format;
#   todo-dev-installer.sh and todo-dev-installer.ps1, which download the
#     archive for the platform from URL (with --release-url: the release's
#     download address) and refuse it unless its checksum matches.
# The archive is reproducible: entries sorted, owner 0, every mtime the
# commit's time (SOURCE_DATE_EPOCH, also the date `--version` shows).
#
# Why not cargo-dist: it compiles from crates.io only, in about two hours on
# the project's 2-core machines, past CI's budget, and cannot be fetched
# prebuilt there; this script does what todo-dev's one binary needs, and
# CI runs it for the host (tests/dist.rs).
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
target="" out="$here/target/dist" release_url=""
while (($#)); do
    case "$1" in
        --target) target=${2:?--target needs a triple}; shift 2 ;;
        --out) out=${2:?--out needs a directory}; shift 2 ;;
        --release-url) release_url=${2:?--release-url needs a URL}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) printf 'dist.sh: unknown argument: %s\n' "$1" >&2; usage >&2; exit 2 ;;
    esac
done

fail() { printf 'dist.sh: %s\n' "$*" >&2; exit 1; }
# Windows runners have `python`, the others `python3`.
py=$(command -v python3 || command -v python) || fail "python3 is needed (archives, licenses)"
[[ -n $target ]] || target=$(rustc -vV | sed -n 's/^host: //p')
[[ -n $target ]] || fail "cannot tell the host target (rustc -vV)"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[[ -n $version ]] || fail "no version in Cargo.toml"
grep -Eq "^## $version( |$)" CHANGELOG.md || fail "CHANGELOG.md has no section for $version
  fix: add '## $version (...)' with what this release changes"
if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

# --- build ------------------------------------------------------------------
read -r -a cargo <<<"${DIST_CARGO:-cargo}"
"${cargo[@]}" build --release --locked --target "$target" --bin todo-dev >&2
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
    "$py" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
exe=todo-dev
[[ $target == *windows* ]] && exe=todo-dev.exe
binary="$target_dir/$target/release/$exe"
[[ -f $binary ]] || fail "the build left no $binary"

# --- stage ------------------------------------------------------------------
name="todo-dev-v$version-$target"
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root"
cp "$binary" "$root/$exe"
cp README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE "$root/"
"$py" scripts/dist/licenses.py --target "$target" --out "$root/THIRD-PARTY-LICENSES.md"
cp -R share/completions share/man "$root/"

# --- archive and checksum -----------------------------------------------------
# Python's zipfile/tarfile: the same bytes on Linux, macOS and Windows runners.
case $target in
    *windows*) archive="$name.zip" ;;
    *) archive="$name.tar.gz" ;;
esac
(cd "$stage" && "$py" - "$name" "$out/$archive" <<'PY'
import gzip, io, os, sys, tarfile, time, zipfile
root, dest = sys.argv[1], sys.argv[2]
stamp = int(os.environ["SOURCE_DATE_EPOCH"])
paths = []
for base, dirs, files in os.walk(root):
    dirs.sort()
    paths += [os.path.join(base, f) for f in sorted(files)]
def mode(path):
    return 0o755 if os.path.basename(path) in ("todo-dev", "todo-dev.exe") else 0o644
if dest.endswith(".zip"):
    date = time.gmtime(max(stamp, 315532800))[:6]  # zip holds no date before 1980
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for path in paths:
            info = zipfile.ZipInfo(path.replace(os.sep, "/"), date)
            info.external_attr = mode(path) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as src:
                z.writestr(info, src.read())
else:
    with open(dest, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=stamp, filename="") as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in paths:
                info = tarfile.TarInfo(path.replace(os.sep, "/"))
                info.size, info.mtime, info.mode = os.path.getsize(path), stamp, mode(path)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with open(path, "rb") as src:
                    tar.addfile(info, src)
PY
)
sha256() {
    if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi
}
(cd "$out" && sha256 "$archive" >"$archive.sha256")

# --- installers ---------------------------------------------------------------
if [[ -n $release_url ]]; then
    for installer in todo-dev-installer.sh todo-dev-installer.ps1; do
        sed -e "s|__RELEASE_URL__|$release_url|g" -e "s|__VERSION__|$version|g" \
            "scripts/dist/$installer" >"$out/$installer"
    done
    chmod +x "$out/todo-dev-installer.sh"
fi
printf '%s\n' "$out/$archive"
