# shellcheck shell=bash
# Sourced by the lab scripts that install packages on the machine that runs `make test` / `make demo`.
# On a fresh Debian/Ubuntu machine apt-daily or unattended-upgrades often holds apt's locks for minutes
# after boot, and apt-get then fails at once ("Could not get lock": DPkg::Lock::Timeout covers only
# dpkg's lock, not the lists' one, in apt 2.6). apt_get waits for them, as the keepalived role does.
#   apt_get ARG...   apt-get ARG..., its output quiet, retried while a lock is what fails (300 s at most)

apt_get() {
    local end err
    end=$(( $(date +%s) + 300 ))
    until err=$(LC_ALL=C apt-get "$@" 2>&1 >/dev/null); do
        case $err in
            *"Could not get lock"*)
                if [ "$(date +%s)" -lt "$end" ]; then
                    sleep 3
                    continue
                fi ;;
        esac
        printf '%s\n' "$err" >&2
        return 1
    done
    [ -z "$err" ] || printf '%s\n' "$err" >&2
}
