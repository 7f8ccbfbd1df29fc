#!/usr/bin/env bash
# Runs Molecule (default: every scenario) the way `make molecule` and the benchmarks need it:
# the lab image, upstream's Keepalived tarballs for the source scenario (fetched once, verified),
# the EL-like image and its RPM repositories for the el scenario (built once),
# the log kept in build/molecule.log (or $HAVIP_MOLECULE_LOG) and checked for secrets and for skipped steps.
# Usage: lab/molecule.sh [molecule test arguments, default --all]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
HAVIP_LAB_IMAGE=$(cat build/lab-image)
export HAVIP_LAB_IMAGE
[ $# -gt 0 ] || set -- --all
# Only the el and source scenarios need more than the lab image: `-s SCENARIO` for another one skips
# their preparation (`--all` or no -s prepares everything).
scenario=
for ((i = 1; i < $#; i++)); do [ "${!i}" = "-s" ] && { j=$((i + 1)); scenario=${!j}; }; done
if [ -z "$scenario" ] || [ "$scenario" = el ] || [ "$scenario" = source ]; then
    # The el scenario's EL-like nodes and their Keepalived RPM repositories (both cached by recipe hash).
    HAVIP_LAB_IMAGE_EL=$(lab/image/build-el.sh "$HAVIP_LAB_IMAGE")
    HAVIP_EL_RPM_REPO=$(lab/rpm/build.sh "$HAVIP_LAB_IMAGE_EL")
    read -r HAVIP_KEEPALIVED_2_2_7_TARBALL HAVIP_KEEPALIVED_2_2_7_SHA256 <<<"$(lab/keepalived-source.sh 2.2.7)"
    read -r HAVIP_KEEPALIVED_2_3_4_TARBALL HAVIP_KEEPALIVED_2_3_4_SHA256 <<<"$(lab/keepalived-source.sh 2.3.4)"
    export HAVIP_LAB_IMAGE_EL HAVIP_EL_RPM_REPO HAVIP_KEEPALIVED_2_2_7_TARBALL HAVIP_KEEPALIVED_2_2_7_SHA256 \
        HAVIP_KEEPALIVED_2_3_4_TARBALL HAVIP_KEEPALIVED_2_3_4_SHA256
fi
log=${HAVIP_MOLECULE_LOG:-build/molecule.log}
mkdir -p "$(dirname "$log")"
status=0
# The base every scenario is merged over, named explicitly: Molecule looks for it only at the root of
# a VCS checkout, and a scenario without it is not the scenario (lab/molecule_effective_config.py).
molecule --base-config "$top/.config/molecule/config.yml" test "$@" 2>&1 | tee "$log" || status=$?
lab/no-secrets.sh "$log"
if grep -n 'Missing playbook' "$log"; then
    echo "lab/molecule: a Molecule step was skipped (see above)" >&2
    exit 1
fi
exit "$status"
