#!/bin/sh
# todo-dev installer: fetches the release archive for this machine, checks
# it against the release's SHA-256, and installs todo-dev with its man pages
# and shell completions. Nothing is installed from an archive whose checksum
# does not match.
#
#   sh todo-dev-installer.sh [--prefix DIR] [--archive FILE] [--from URL]
#
#   --prefix DIR    where to install (default ~/.local): DIR/bin/todo-dev,
#                   DIR/share/man/man1, DIR/share/todo-dev/completions
#   --archive FILE  install this archive (FILE.sha256 must be beside it)
#                   instead of downloading one
#   --from URL      download from this release address instead of the one
#                   the release wrote in (also TODO_DEV_RELEASE_URL)
#   TODO_DEV_TARGET overrides the platform (e.g. x86_64-unknown-linux-musl)
#
# Exit 0 installed, 1 refused or failed (nothing installed), 3 no archive
# to be had for this machine (not published, or no such platform).
set -eu

version="${TODO_DEV_VERSION:-__VERSION__}"
release_url="${TODO_DEV_RELEASE_URL:-__RELEASE_URL__}"
prefix="${HOME:-}/.local"
archive=""

say() { printf 'todo-dev-installer: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
        --archive) archive=${2:?--archive needs a file}; shift 2 ;;
        --from) release_url=${2:?--from needs a URL}; shift 2 ;;
        -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) fail "unknown argument: $1 (see --help)" ;;
    esac
done

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d ' ' -f 1
    else
        fail "neither sha256sum nor shasum is installed: cannot check the download"
    fi
}

fetch() { # URL DEST
    if command -v curl >/dev/null 2>&1; then
        curl --proto '=https,http' --fail --location --silent --show-error --output "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget --quiet --output-document="$2" "$1"
    else
        fail "neither curl nor wget is installed"
    fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

if [ -z "$archive" ]; then
    case "$release_url" in
        __*) fail "this copy of the installer names no release: use --from URL or --archive FILE" ;;
    esac
    target=${TODO_DEV_TARGET:-}
    if [ -z "$target" ]; then
        case "$(uname -s)/$(uname -m)" in
            Linux/x86_64 | Linux/amd64) target=x86_64-unknown-linux-musl ;;
            Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-musl ;;
            Darwin/x86_64) target=x86_64-apple-darwin ;;
            Darwin/arm64 | Darwin/aarch64) target=aarch64-apple-darwin ;;
            *)
                say "no release archive for $(uname -s) $(uname -m): build from source with ./install.sh --from-source"
                exit 3
                ;;
        esac
    fi
    name="todo-dev-v$version-$target.tar.gz"
    say "downloading $name"
    if ! fetch "$release_url/$name" "$work/$name" || ! fetch "$release_url/$name.sha256" "$work/$name.sha256"; then
        say "cannot download $release_url/$name and its .sha256 (not published?)"
        exit 3
    fi
    archive="$work/$name"
fi

[ -f "$archive" ] || fail "no archive at $archive"
[ -f "$archive.sha256" ] || fail "no checksum file at $archive.sha256: refusing an archive that cannot be checked"
want=$(cut -d ' ' -f 1 <"$archive.sha256")
got=$(sha256_of "$archive")
case "$want" in
    *[!0-9a-f]* | "") fail "$archive.sha256 holds no SHA-256" ;;
esac
[ ${#want} -eq 64 ] || fail "$archive.sha256 holds no SHA-256"
if [ "$want" != "$got" ]; then
    fail "refused $archive: its SHA-256 is $got, the release says $want (a damaged or altered download); nothing was installed"
fi

mkdir "$work/x"
tar -xzf "$archive" -C "$work/x"
root=$(find "$work/x" -mindepth 1 -maxdepth 1 -type d | head -n 1)
if [ -z "$root" ] || [ ! -f "$root/todo-dev" ]; then
    fail "$archive holds no todo-dev binary"
fi

mkdir -p "$prefix/bin" "$prefix/share/man/man1" "$prefix/share/todo-dev/completions"
cp "$root/todo-dev" "$prefix/bin/todo-dev.new"
chmod 755 "$prefix/bin/todo-dev.new"
mv -f "$prefix/bin/todo-dev.new" "$prefix/bin/todo-dev"
cp "$root"/man/man1/*.1 "$prefix/share/man/man1/"
cp "$root"/completions/* "$prefix/share/todo-dev/completions/"

say "installed $("$prefix/bin/todo-dev" --version) into $prefix/bin"
case ":${PATH:-}:" in
    *":$prefix/bin:"*) ;;
    *) say "add $prefix/bin to PATH, e.g. echo 'export PATH=\"$prefix/bin:\$PATH\"' >> ~/.profile" ;;
esac
say "completions are in $prefix/share/todo-dev/completions (bash: source todo-dev.bash)"
