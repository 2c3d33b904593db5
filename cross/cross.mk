# Static cross-builds for the OpenWrt targets; included by the root Makefile.
#   make cross [TARGET="mips mipsel"]     static stripped binaries -> dist/<triple>/acs-edge
#   make cross VARIANT=full               with BLE and LoRa -> dist/<triple>/acs-edge-full
#   make size                             size table (cross/size.sh --tuning: profile matrix)
#   make check-budget                     fail when the default mipsel build is over 3 MiB
#   make test-cross [TARGET=mips]         proto unit tests + daemon black-box tests under qemu
#   make test-cross-proto [TARGET=mips]   only the proto unit tests under qemu
# Debian's rustc/cargo 1.96 + zig (cross/setup.sh installs them); rustup is never touched.
CROSS_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
CROSS_TARGETS ?= mips mipsel armv7 aarch64
CROSS_TEST_TARGETS ?= mips mipsel

.PHONY: cross size check-budget test-cross test-cross-proto cross-setup
cross-setup:
	@$(CROSS_DIR)/setup.sh
cross: cross-setup
	VARIANT=$(or $(VARIANT),default) $(CROSS_DIR)/build.sh $(or $(TARGET),$(CROSS_TARGETS))
size: cross-setup
	$(CROSS_DIR)/size.sh
check-budget:
	$(CROSS_DIR)/check-budget.sh
test-cross: cross-setup
	$(CROSS_DIR)/test-cross.sh $(or $(TARGET),$(CROSS_TEST_TARGETS))
test-cross-proto: cross-setup
	$(CROSS_DIR)/test-cross.sh --proto $(or $(TARGET),$(CROSS_TEST_TARGETS))

# OpenWrt packages (cross/ipk.sh, cross/apk.sh and their tests, cross/test-luci.sh; see
# cross/README.md). VARIANTS="default full" unless set.
#   make ipk [TARGET="mips mipsel"]       .ipk packages (24.10, opkg) -> dist/ (missing binaries: make cross)
#   make test-packages [TARGET=...]       unpack and check them, rebuild and compare sha256
#   make apk [TARGET=...] [APK=...]       .apk packages (25.12, apk-tools 3) -> dist/apk/<arch>/
#   make test-apk [TARGET=...]            install, upgrade, remove them with the real apk; rebuild, compare
#   make test-luci                        LuCI app checks (node only; part of make test)
.PHONY: ipk apk test-packages test-apk test-luci
ipk:
	VARIANTS="$(or $(VARIANTS),default full)" $(CROSS_DIR)/ipk.sh $(TARGET)
apk:
	VARIANTS="$(or $(VARIANTS),default full)" $(CROSS_DIR)/apk.sh $(TARGET)
test-packages:
	VARIANTS="$(or $(VARIANTS),default full)" $(CROSS_DIR)/test-packages.sh $(TARGET)
test-apk:
	VARIANTS="$(or $(VARIANTS),default full)" $(CROSS_DIR)/test-apk.sh $(TARGET)
test-luci:
	$(CROSS_DIR)/test-luci.sh
