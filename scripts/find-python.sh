#!/usr/bin/env bash
# Prints the path of a Python >= 3.12 for the virtualenv, or explains how to provide one and fails.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
candidates+=(python3.13 python3.12 python3 python)
command -v pyenv >/dev/null 2>&1 && for v in 3.13 3.12; do
  p=$(pyenv prefix "$v" 2>/dev/null | head -n1) && [ -n "$p" ] && candidates+=("$p/bin/python3")
done
for c in "${candidates[@]}"; do
  path=$(command -v "$c" 2>/dev/null) || continue
  if ok "$path"; then echo "$path"; exit 0; fi
done
echo "This project needs Python 3.12 or newer (3.13 preferred) and none was found." >&2
echo "Install one, or point make at it: make run PYTHON=/path/to/python3.13" >&2
exit 1
