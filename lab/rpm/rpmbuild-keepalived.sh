#!/usr/bin/env bash
# Runs inside the EL-like image (lab/rpm/build.sh): for each VERSION:REPO, rpmbuild the upstream
# tarball /src/keepalived_VERSION.orig.tar.gz with its own spec file into /out/REPO, then
# createrepo_c each repository.
# The tarball ships keepalived.spec.in; its own ./configure turns it into keepalived.spec (the
# @..._TRUE@ markers follow what this image has, the same as the spec's %configure finds). Two
# edits to the generated spec, both for the Debian userland underneath:
#  - AutoReqProv: no. rpm's automatic requirements (sonames like libssl.so.3) could never be
#    met: the node's rpm database knows no Debian library. The spec's explicit Requires (openssl,
#    kmod-libs or libkmod, libnl3) stay, and havip-lab-el-base (lab/image/el) provides them.
#  - the unit goes to EL's %{_unitdir} (/usr/lib/systemd/system); Debian's pkg-config says /lib.
# And one for 2.2.7's spec, which lists /etc/keepalived/keepalived.conf although its `make install`
# writes keepalived.conf.sample: upstream's own later fix (2.3.4's spec, changelog 2.2.7-1).
# rpmbuild --nodeps: the BuildRequires name EL packages this rpm database does not know; the
# Debian equivalents are installed (lab/image/el/packages-el.txt).
set -euo pipefail
unitdir=/usr/lib/systemd/system
for entry in "$@"; do
    version=${entry%%:*}
    repo=${entry#*:}
    topdir=/tmp/rpmbuild-$version
    mkdir -p "$topdir"/{SOURCES,SPECS} "/tmp/spec-$version" "/out/$repo"
    cp "/src/keepalived_$version.orig.tar.gz" "$topdir/SOURCES/keepalived-$version.tar.gz"
    tar -xzf "/src/keepalived_$version.orig.tar.gz" -C "/tmp/spec-$version"
    (cd "/tmp/spec-$version/keepalived-$version" && ./configure --quiet --with-init=systemd >/dev/null)
    sed -e '/^Release:/a AutoReqProv: no' \
        -e 's|^%attr(0600,root,root) %config(noreplace) %{_sysconfdir}/keepalived/keepalived.conf$|%attr(0600,root,root) %{_sysconfdir}/keepalived/keepalived.conf.sample|' \
        -e "s|^%configure \$CONFIG_OPTS\$|%configure \$CONFIG_OPTS --with-systemdsystemunitdir=$unitdir|" \
        "/tmp/spec-$version/keepalived-$version/keepalived.spec" >"$topdir/SPECS/keepalived.spec"
    grep -q -- "--with-systemdsystemunitdir=$unitdir" "$topdir/SPECS/keepalived.spec"
    echo "== keepalived $version: the generated spec's package lines" >&2
    grep -E '^(Name|Version|Release|AutoReqProv|Requires|BuildRequires):' "$topdir/SPECS/keepalived.spec" >&2
    rpmbuild -bb --nodeps \
        --define "_topdir $topdir" --define "_unitdir $unitdir" --define 'dist .el9' \
        --define 'debug_package %{nil}' --define "_smp_mflags -j$(nproc)" \
        "$topdir/SPECS/keepalived.spec"
    cp "$topdir"/RPMS/*/keepalived-"$version"-*.rpm "/out/$repo/"
done
for dir in /out/*/; do
    createrepo_c --quiet "$dir"
done
