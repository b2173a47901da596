#!/usr/bin/env bash
# Print the directory of a working python3.13 interpreter (what `sam build` needs for the
# python3.13 runtime without a container), or exit 1 if there is none.
#
# Order: a python3.13 already on PATH, then pyenv's versions/3.13*. A pyenv *shim* on PATH is not
# enough: it only runs when PYENV_VERSION/.python-version selects 3.13, so every candidate is
# actually executed and must report 3.13.
set -euo pipefail

want_minor="${WANT_PYTHON_MINOR:-3.13}"

works() {
  "$1" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '${want_minor}' else 1)" \
    >/dev/null 2>&1
}

candidates=()
if on_path="$(command -v "python${want_minor}" 2>/dev/null)"; then
  candidates+=("${on_path}")
fi

pyenv_root="${PYENV_ROOT:-}"
if [[ -z "${pyenv_root}" ]] && command -v pyenv >/dev/null 2>&1; then
  pyenv_root="$(pyenv root 2>/dev/null || true)"
fi
[[ -n "${pyenv_root}" ]] || pyenv_root="${HOME:-/root}/.pyenv"
if [[ -d "${pyenv_root}/versions" ]]; then
  # Newest patch release first (3.13.10 sorts after 3.13.9 with sort -V).
  while IFS= read -r dir; do
    candidates+=("${dir}/bin/python${want_minor}")
  done < <(find "${pyenv_root}/versions" -mindepth 1 -maxdepth 1 -name "${want_minor}*" | sort -rV)
fi

for candidate in "${candidates[@]+"${candidates[@]}"}"; do
  if [[ -x "${candidate}" ]] && works "${candidate}"; then
    dirname "${candidate}"
    exit 0
  fi
done
exit 1
