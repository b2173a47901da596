#!/usr/bin/env bash
# `sam build` for the python3.13 / arm64 functions and layer, without a container.
#
# SAM's Python builder needs an interpreter of the runtime's exact version on PATH; this finds one
# (scripts/find-python313.sh) and puts it first. Without one the build is skipped with a message,
# except under CI=true, where it fails.
# Usage: scripts/sam-build.sh [SAM_BIN] [extra `sam build` args...]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/.." && pwd)"
sam_bin="${1:-${root}/.venv-sam/bin/sam}"
shift || true

if ! py_dir="$(bash "${here}/find-python313.sh")"; then
  msg="python3.13 not found (looked on PATH and in pyenv's versions/3.13*): 'sam build' needs it for the python3.13 runtime."
  if [[ "${CI:-}" == "true" ]]; then
    echo "ERROR: ${msg}" >&2
    exit 1
  fi
  echo "SKIPPED sam build: ${msg} Install Python 3.13 (e.g. 'pyenv install 3.13') and rerun 'make build'." >&2
  exit 0
fi

echo "sam build with $("${py_dir}/python3.13" --version) from ${py_dir}"
cd "${root}"
start=${SECONDS}
PATH="${py_dir}:${PATH}" bash "${here}/offline-env.sh" "${sam_bin}" build "$@"
echo "sam build finished in $((SECONDS - start)) s"
