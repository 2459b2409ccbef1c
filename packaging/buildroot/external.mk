# quoll as a Buildroot external tree: make BR2_EXTERNAL=/path/to/quoll/packaging/buildroot menuconfig
include $(sort $(wildcard $(BR2_EXTERNAL_QUOLL_PATH)/package/*/*.mk))
