#!/usr/bin/env bash
# Install todo-dev for this checkout: the release binary of its version when
# one is published (checked against the release's SHA-256 before anything
# runs), else a build from source with cargo. Then check for the tools it
# drives (docker, minikube, kubectl; helm optional) and print how to get any
# that are missing. Hints are only printed, never run: installing system
# software is the user's call. Safe to re-run (both update in place).
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: ./install.sh [--from-source] [--release-url URL] [--prefix DIR] [--check-only] [--help]

Installs the release binary of this checkout's version (from the GitHub
releases of the repository it was cloned from) into ~/.local/bin, after
checking the archive against the release's SHA-256; builds from source with
`cargo install --path . --locked` (into ~/.cargo/bin) when no release of this
version is published. Then checks that docker, minikube, kubectl and
(optionally) helm are on PATH, printing install hints for your OS.

  --from-source      always build with cargo, never download
  --release-url URL  where this version's release files are (also
                     TODO_DEV_RELEASE_URL); default: from `git remote get-url origin`
  --prefix DIR       where a release binary goes (DIR/bin; default ~/.local, or
                     cargo's home when its bin is on PATH and ~/.local/bin is not)
  --check-only       install nothing; only check the tools
  -h, --help         show this help
EOF
}

check_only=0 from_source=0 release_url=${TODO_DEV_RELEASE_URL:-} prefix=""
while (($#)); do
    case "$1" in
        -h | --help)
            usage
            exit 0
            ;;
        --check-only) check_only=1 ;;
        --from-source) from_source=1 ;;
        --release-url | --prefix)
            if (($# < 2)); then
                printf 'install.sh: %s needs a value\n\n' "$1" >&2
                usage >&2
                exit 2
            fi
            if [[ $1 == --prefix ]]; then prefix=$2; else release_url=$2; fi
            shift
            ;;
        *)
            printf 'install.sh: unknown argument: %s\n\n' "$1" >&2
            usage >&2
            exit 2
            ;;
    esac
    shift
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---------------------------------------------------------------------------
# Platform detection (for hints only)
# ---------------------------------------------------------------------------
os=linux family=other wsl=0
case "$(uname -s)" in
    Darwin) os=macos ;;
    MINGW* | MSYS* | CYGWIN*) os=windows ;;
    Linux)
        os=linux
        grep -qi microsoft /proc/version 2>/dev/null && wsl=1
        # OS_RELEASE_FILE: lets the hints be checked for other distros
        os_release=${OS_RELEASE_FILE:-/etc/os-release}
        if [[ -r $os_release ]]; then
            ids=$(
                # shellcheck disable=SC1090  # a system file, sourced in a subshell
                . "$os_release"
                echo "${ID:-} ${ID_LIKE:-}"
            )
            case " $ids " in
                *" debian "* | *" ubuntu "*) family=apt ;;
                *" fedora "* | *" rhel "* | *" centos "*) family=dnf ;;
                *" arch "*) family=pacman ;;
            esac
        fi
        ;;
esac
case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 rpmarch=x86_64 ;;
    aarch64 | arm64) arch=arm64 rpmarch=aarch64 ;;
    *) arch=$(uname -m) rpmarch=$arch ;;
esac

# ---------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$here/Cargo.toml" | head -n 1)

# The release files of this version, https://github.com/OWNER/REPO/releases/download/vVERSION,
# for a checkout cloned from GitHub.
release_of_origin() {
    local origin
    origin=$(git -C "$here" remote get-url origin 2>/dev/null) || return 0
    origin=${origin%.git}
    case "$origin" in
        git@github.com:*) origin="https://github.com/${origin#git@github.com:}" ;;
        https://github.com/*) ;;
        *) return 0 ;;
    esac
    printf '%s/releases/download/v%s\n' "$origin" "$version"
}

# A release binary goes where the shell already looks: ~/.local/bin, or
# cargo's bin directory, when on PATH; else ~/.local (with a hint).
if [[ -z $prefix ]]; then
    prefix="$HOME/.local"
    cargo_home=${CARGO_HOME:-$HOME/.cargo}
    case ":$PATH:" in
        *":$HOME/.local/bin:"*) ;;
        *":$cargo_home/bin:"*) prefix=$cargo_home ;;
    esac
fi

installed_release=0
if ((!check_only && !from_source)); then
    [[ -n $release_url ]] || release_url=$(release_of_origin)
    if [[ -z $release_url ]]; then
        echo "==> no release address for this checkout (not cloned from GitHub; --release-url sets one): building from source"
    elif [[ $os == windows ]]; then
        echo "==> on Windows the release installer is todo-dev-installer.ps1 (see the README): building from source"
    else
        echo "==> todo-dev $version from $release_url"
        # The installer's exit 3: nothing published to download; any other failure: refused.
        rc=0
        TODO_DEV_VERSION=$version bash "$here/scripts/dist/todo-dev-installer.sh" \
            --from "$release_url" --prefix "$prefix" || rc=$?
        case $rc in
            0) installed_release=1 ;;
            3) echo "==> no release archive of $version for this machine: building from source" ;;
            *)
                echo "install.sh: the release download was refused (above); nothing was installed." >&2
                echo "  fix: retry, or build from source: ./install.sh --from-source" >&2
                exit 1
                ;;
        esac
    fi
fi

if ((!check_only && !installed_release)); then
    if ! command -v cargo >/dev/null; then
        cat >&2 <<'EOF'
cargo (Rust) is not installed. Get it with rustup (https://rustup.rs):
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
  (Windows: winget install Rustlang.Rustup)
then open a new shell (or `. "$HOME/.cargo/env"`) and re-run ./install.sh
EOF
        exit 1
    fi
    echo "==> cargo install --path $here --locked"
    # --locked: build with the tested Cargo.lock, not whatever is newest
    (cd "$here" && cargo install --path . --locked)
    bin_dir=${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin
    if ! command -v todo-dev >/dev/null; then
        echo "! todo-dev was installed to $bin_dir, which is not on your PATH."
        echo "  add it:  export PATH=\"$bin_dir:\$PATH\"  (e.g. in ~/.bashrc or ~/.zshrc)"
    fi
fi

# ---------------------------------------------------------------------------
# Tool checks and hints
# ---------------------------------------------------------------------------
# The hints are printed verbatim; the $(...) inside them is for the user's shell.
# shellcheck disable=SC2016
hint() {
    local tool=$1
    case "$os/$family/$tool" in
        macos/*/docker) echo 'brew install --cask docker   # Docker Desktop; then start Docker.app (or: brew install colima docker && colima start)' ;;
        macos/*/minikube) echo 'brew install minikube' ;;
        macos/*/kubectl) echo 'brew install kubectl' ;;
        macos/*/helm) echo 'brew install helm' ;;

        windows/*/docker) echo 'winget install -e --id Docker.DockerDesktop   (or: choco install docker-desktop)' ;;
        windows/*/minikube) echo 'winget install Kubernetes.minikube   (or: choco install minikube)' ;;
        windows/*/kubectl) echo 'winget install -e --id Kubernetes.kubectl   (or: choco install kubernetes-cli)' ;;
        windows/*/helm) echo 'winget install Helm.Helm   (or: choco install kubernetes-helm)' ;;

        linux/apt/docker) echo 'sudo apt-get update && sudo apt-get install -y docker.io && sudo usermod -aG docker "$USER"   # then log out and in; Docker CE: https://docs.docker.com/engine/install/' ;;
        linux/dnf/docker) echo 'sudo dnf install -y moby-engine && sudo systemctl enable --now docker && sudo usermod -aG docker "$USER"   # Docker CE: https://docs.docker.com/engine/install/fedora/' ;;
        linux/pacman/docker) echo 'sudo pacman -S docker && sudo systemctl enable --now docker.service && sudo usermod -aG docker "$USER"' ;;
        linux/*/docker) echo 'see https://docs.docker.com/engine/install/ (then: sudo usermod -aG docker "$USER")' ;;

        linux/apt/minikube) echo "curl -LO https://storage.googleapis.com/minikube/releases/latest/minikube_latest_$arch.deb && sudo dpkg -i minikube_latest_$arch.deb" ;;
        linux/dnf/minikube) echo "curl -LO https://storage.googleapis.com/minikube/releases/latest/minikube-latest.$rpmarch.rpm && sudo rpm -Uvh minikube-latest.$rpmarch.rpm" ;;
        linux/pacman/minikube) echo 'sudo pacman -S minikube' ;;
        linux/*/minikube) echo "curl -LO https://storage.googleapis.com/minikube/releases/latest/minikube-linux-$arch && sudo install minikube-linux-$arch /usr/local/bin/minikube && rm minikube-linux-$arch" ;;

        linux/pacman/kubectl) echo 'sudo pacman -S kubectl' ;;
        linux/*/kubectl) echo 'curl -LO "https://dl.k8s.io/release/$(curl -L -s https://dl.k8s.io/release/stable.txt)/bin/linux/'"$arch"'/kubectl" && sudo install -o root -g root -m 0755 kubectl /usr/local/bin/kubectl && rm kubectl   # or use: minikube kubectl --' ;;

        linux/dnf/helm) echo 'sudo dnf install -y helm' ;;
        linux/pacman/helm) echo 'sudo pacman -S helm' ;;
        linux/*/helm) echo 'curl -fsSL https://raw.githubusercontent.com/helm/helm/main/scripts/get-helm-3 | bash   # see https://helm.sh/docs/intro/install/' ;;
    esac
}

missing_required=0
echo
echo "==> checking tools todo-dev drives"
for tool in docker minikube kubectl helm; do
    optional=""
    [[ $tool == helm ]] && optional=" (optional)"
    if path=$(command -v "$tool"); then
        printf '  ok       %-9s %s\n' "$tool" "$path"
        continue
    fi
    [[ -z $optional ]] && missing_required=1
    printf '  missing  %s%s\n' "$tool" "$optional"
    printf '           install: %s\n' "$(hint "$tool")"
done
if ((wsl)); then
    echo
    echo "WSL detected: the simplest route is Docker Desktop on Windows with WSL integration"
    echo "enabled for this distro (Settings > Resources > WSL integration); the Linux hints"
    echo "above also work inside WSL 2 (Windows-side: winget install -e --id Docker.DockerDesktop)."
fi
if ((missing_required)); then
    echo
    echo "Some required tools are missing (hints above). todo-dev installs nothing system-wide for you."
fi

echo
echo "next: \`todo-dev doctor\` checks this machine; \`todo-dev up\` starts Minikube, builds and deploys the stack"
