#!/usr/bin/env bash
# Fail when a log of ours contains a secret: the VRRP auth_pass values (and, later, API keys) that
# the lab inventory and the Molecule scenarios use. Runs on logs taken with -vvv and --diff.
#   lab/no-secrets.sh LOG...
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mapfile -t secrets < <(grep -rhoE '(auth_pass|secret_key):[[:space:]]*"[^"]+"' \
    "$top/lab/inventory.yml" "$top"/molecule/*/molecule.yml | sed -E 's/^[^"]*"([^"]+)"$/\1/' | sort -u)
if [ "${#secrets[@]}" -eq 0 ]; then
    echo "no-secrets: found no secrets to look for (the check would prove nothing)" >&2
    exit 1
fi
status=0
for log in "$@"; do
    for secret in "${secrets[@]}"; do
        if grep -qF -- "$secret" "$log"; then
            echo "no-secrets: a secret appears in $log:" >&2
            grep -nF -- "$secret" "$log" | head -5 | sed -E "s/$(printf '%s' "$secret" | sed 's/[]\/$*.^[]/\\&/g')/<SECRET>/g" >&2
            status=1
        fi
    done
done
[ "$status" = 0 ] && echo "no-secrets: none of ${#secrets[@]} secrets in $*"
exit "$status"
