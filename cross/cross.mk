# Static cross-builds for the OpenWrt targets; included by the root Makefile.
#   make cross [TARGET="mips mipsel"]     static stripped binaries -> dist/<triple>/acs-edge
#   make size                             size table (cross/size.sh --tuning: profile matrix)
#   make test-cross [TARGET=mips]         proto unit tests + daemon black-box tests under qemu
#   make test-cross-proto [TARGET=mips]   only the proto unit tests under qemu
# Debian's rustc/cargo 1.96 + zig (cross/setup.sh installs them); rustup is never touched.
CROSS_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
CROSS_TARGETS ?= mips mipsel armv7 aarch64
CROSS_TEST_TARGETS ?= mips mipsel

.PHONY: cross size test-cross test-cross-proto cross-setup
cross-setup:
	@$(CROSS_DIR)/setup.sh
cross: cross-setup
	$(CROSS_DIR)/build.sh $(or $(TARGET),$(CROSS_TARGETS))
size: cross-setup
	$(CROSS_DIR)/size.sh
test-cross: cross-setup
	$(CROSS_DIR)/test-cross.sh $(or $(TARGET),$(CROSS_TEST_TARGETS))
test-cross-proto: cross-setup
	$(CROSS_DIR)/test-cross.sh --proto $(or $(TARGET),$(CROSS_TEST_TARGETS))
