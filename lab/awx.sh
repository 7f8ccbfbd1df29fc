#!/usr/bin/env bash
# `make awx`: site.yml run as an AWX job template runs it (python3 -m lab.awx: ansible-runner, the
# collection from its Galaxy tarball, the credential type of extensions/awx), on a lab of its own:
# lab/lab.sh brings up the two nodes, the probe and the emulator (127.0.0.1:8780), and takes them
# down afterwards. The emulator's key pair is made for this run (build/awx/emulator/keys.json); only
# the job's credential carries it. Refuses to start while another lab is up (`make lab-down` first):
# that lab's nodes and emulator state are not this run's to reuse or remove.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
work="$top/build/awx"
export HAVIP_EMULATOR_STATE="$work/emulator"

if [ -n "$(docker ps -aq --filter label=havip-lab=1)" ] || curl -fsS -m 2 http://127.0.0.1:8780/_lab/health >/dev/null 2>&1; then
    echo "lab/awx: a lab is already up (lab/lab.sh status); run make lab-down first" >&2
    exit 1
fi
rm -rf "$work"
mkdir -p "$HAVIP_EMULATOR_STATE"
chmod 700 "$work" "$HAVIP_EMULATOR_STATE"
secret_id="AKIDawx$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
secret_key="awx-$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
(umask 077 && printf '{"%s": "%s"}\n' "$secret_id" "$secret_key" > "$HAVIP_EMULATOR_STATE/keys.json")
unset secret_key

trap 'lab/lab.sh down >/dev/null' EXIT
start=$(date +%s)
lab/lab.sh up >"$work/lab-up.log" 2>&1 || { tail -30 "$work/lab-up.log" >&2; echo "lab/awx: the lab did not come up" >&2; exit 1; }
echo "lab/awx: lab up in $(( $(date +%s) - start )) s (log: $work/lab-up.log)"
python3 -m lab.awx --keys "$HAVIP_EMULATOR_STATE/keys.json" --work "$work" \
    --emulator-log "$HAVIP_EMULATOR_STATE/emulator.log"
echo "lab/awx: passed in $(( $(date +%s) - start )) s"
