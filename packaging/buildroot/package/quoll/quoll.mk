################################################################################
#
# quoll
#
################################################################################

# The source is the quoll tree this external tree is part of (packaging/buildroot); point
# QUOLL_OVERRIDE_SRCDIR in local.mk elsewhere to build another checkout.
QUOLL_VERSION = 0.1.0
QUOLL_SITE = $(BR2_EXTERNAL_QUOLL_PATH)/../..
QUOLL_SITE_METHOD = local
QUOLL_LICENSE = MIT or Apache-2.0
# The tree's build output and downloads are not the source.
QUOLL_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --exclude /target --exclude /build --exclude /fuzz

# Only the features chosen in Config.in, not Cargo's defaults.
QUOLL_FEATURES = \
	$(if $(BR2_PACKAGE_QUOLL_SFTP),sftp) \
	$(if $(BR2_PACKAGE_QUOLL_SCP),scp) \
	$(if $(BR2_PACKAGE_QUOLL_AES),aes)
QUOLL_CARGO_BUILD_OPTS = --no-default-features \
	$(if $(strip $(QUOLL_FEATURES)),--features "$(subst $(space),$(comma),$(strip $(QUOLL_FEATURES)))")
QUOLL_CARGO_INSTALL_OPTS = $(QUOLL_CARGO_BUILD_OPTS)

# cargo install puts the binary in /usr/bin; a server belongs in /usr/sbin. /etc/dropbear
# (the host key's directory) is a link into /var/run as with Buildroot's Dropbear:
# S50quoll makes it a real directory when the root file system is writable.
define QUOLL_MOVE_TO_SBIN
	mkdir -p $(TARGET_DIR)/usr/sbin
	mv -f $(TARGET_DIR)/usr/bin/quoll $(TARGET_DIR)/usr/sbin/quoll
	ln -snf /var/run/dropbear $(TARGET_DIR)/etc/dropbear
endef
QUOLL_POST_INSTALL_TARGET_HOOKS += QUOLL_MOVE_TO_SBIN

ifeq ($(BR2_PACKAGE_QUOLL_DROPBEAR_NAMES),y)
define QUOLL_DROPBEAR_NAMES
	ln -snf quoll $(TARGET_DIR)/usr/sbin/dropbear
	ln -snf ../sbin/quoll $(TARGET_DIR)/usr/bin/dropbearkey
	ln -snf ../sbin/quoll $(TARGET_DIR)/usr/bin/dropbearconvert
endef
QUOLL_POST_INSTALL_TARGET_HOOKS += QUOLL_DROPBEAR_NAMES
endif

define QUOLL_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 755 $(QUOLL_PKGDIR)/S50quoll $(TARGET_DIR)/etc/init.d/S50quoll
	$(INSTALL) -D -m 644 $(QUOLL_PKGDIR)/quoll.default $(TARGET_DIR)/etc/default/quoll
endef

define QUOLL_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 644 $(QUOLL_PKGDIR)/quoll.service \
		$(TARGET_DIR)/usr/lib/systemd/system/quoll.service
	$(INSTALL) -D -m 644 $(QUOLL_PKGDIR)/quoll.default $(TARGET_DIR)/etc/default/quoll
endef

$(eval $(cargo-package))
