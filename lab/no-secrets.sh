#!/usr/bin/env bash
# Fail when a log of ours contains a secret: the VRRP auth_pass values (and, later, API keys) that
# the lab inventory and the Molecule scenarios use, and the lab emulator's SecretKey. Runs on logs taken with -vvv and --diff.
#   lab/no-secrets.sh LOG...
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
list_secrets() {
    grep -rhoiE '(auth_pass|secret_key):[[:space:]]*"[^"]+"' \
        "$top/lab/inventory.yml" "$top"/molecule/*/molecule.yml | sed -E 's/^[^"]*"([^"]+)"$/\1/'
    # The lab emulator's SecretKey (lab/emulator.sh), when a lab has run.
    [ -s "$top/build/lab/credentials.env" ] && sed -n 's/^TENCENTCLOUD_SECRET_KEY=//p' "$top/build/lab/credentials.env"
    true
}
mapfile -t secrets < <(list_secrets | sort -u)
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
