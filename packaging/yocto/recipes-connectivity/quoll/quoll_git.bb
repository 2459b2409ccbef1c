SUMMARY = "quoll: a small SSH server with Dropbear's command line"
DESCRIPTION = "One process, one poll loop, fixed memory, Ed25519 host keys. Started per \
connection from quoll.socket (quoll -i), as the dropbear recipe does, with its options in \
/etc/default/dropbear."
SECTION = "console/network"
LICENSE = "MIT | Apache-2.0"
LIC_FILES_CHKSUM = "file://Cargo.toml;beginline=6;endline=6;md5=86b31c7756a1a7962f28b62856ed4f05"

# The source: the git repository this layer is part of (packaging/yocto), its branch's newest
# commit; set QUOLL_GIT, QUOLL_BRANCH or SRCREV in local.conf for another. Fetched as git (not
# externalsrc) so that the crates of quoll-crates.inc are fetched too: the build is offline.
QUOLL_GIT ??= "${@os.path.abspath(os.path.join(d.getVar('THISDIR'), '../../../..'))}"
QUOLL_BRANCH ??= "main"
PV = "0.1.0+git"
SRCREV ??= "${AUTOREV}"
S = "${UNPACKDIR}/quoll"

SRC_URI = " \
    git://${QUOLL_GIT};protocol=file;branch=${QUOLL_BRANCH};destsuffix=quoll \
    file://quoll.socket \
    file://quoll@.service \
    file://quollkey.service \
    file://dropbear.default \
"
require ${BPN}-crates.inc

inherit cargo cargo-update-recipe-crates systemd

# Cargo features instead of quoll's defaults (sftp scp aes).
PACKAGECONFIG ??= "sftp"
PACKAGECONFIG[sftp] = "--features sftp,,"
PACKAGECONFIG[scp] = "--features scp,,"
PACKAGECONFIG[aes] = "--features aes,,"
CARGO_BUILD_FLAGS:append = " --no-default-features"

SYSTEMD_SERVICE:${PN} = "quoll.socket"

do_install:append() {
    # A server: /usr/sbin, as Dropbear; Dropbear's names point to it.
    install -d ${D}${sbindir}
    mv ${D}${bindir}/quoll ${D}${sbindir}/quoll
    ln -sf quoll ${D}${sbindir}/dropbear
    ln -sf ${@os.path.relpath(d.getVar('sbindir'), d.getVar('bindir'))}/quoll ${D}${bindir}/dropbearkey
    ln -sf ${@os.path.relpath(d.getVar('sbindir'), d.getVar('bindir'))}/quoll ${D}${bindir}/dropbearconvert

    install -d ${D}${sysconfdir}/default ${D}${sysconfdir}/dropbear
    install -m 0644 ${UNPACKDIR}/dropbear.default ${D}${sysconfdir}/default/dropbear

    install -d ${D}${systemd_system_unitdir}
    for u in quoll.socket quoll@.service quollkey.service; do
        install -m 0644 ${UNPACKDIR}/$u ${D}${systemd_system_unitdir}/
    done
    sed -i -e 's,@SBINDIR@,${sbindir},g' -e 's,@BASE_BINDIR@,${base_bindir},g' \
        ${D}${systemd_system_unitdir}/*.service
}

FILES:${PN} += "${systemd_system_unitdir}"
CONFFILES:${PN} = "${sysconfdir}/default/dropbear"

# In the place of Dropbear (same port, same /etc/default/dropbear) and OpenSSH's server.
RPROVIDES:${PN} = "ssh sshd"
RCONFLICTS:${PN} = "dropbear openssh-sshd"
