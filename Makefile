# acs-edge: the one entry point. `make run` runs the daemon locally, `make test` runs every test.
.PHONY: run test lint fmt bench soak check-no-std fuzz clean help test-api-fuzz test-readme test-deploy test-container

CARGO ?= cargo
DEV_CONFIG := dev/acs-edge.config

help:
	@echo "make run           run the daemon with $(DEV_CONFIG) (data in ./data, broker 127.0.0.1:1883)"
	@echo "make test          every test: unit, integration (real mosquitto + daemon), lint, no_std build"
	@echo "make bench         benchmarks that print figures (never part of make test); QUICK=1: short run"
	@echo "make soak          1 h at 1,000 readings/s under rotating attacks (SOAK_SECONDS=...)"
	@echo "make fuzz          every fuzz target for SECONDS each (default 60)"
	@echo "make test-api-fuzz schemathesis against docs/openapi.yaml and the real daemon (part of make test)"
	@echo "make test-readme   the README's <!-- runnable --> blocks against mosquitto + daemon (part of make test)"
	@echo "make cross         static router binaries (TARGET=mipsel-unknown-linux-musl for one)"
	@echo "make size          stripped binary sizes per target"
	@echo "make test-cross    integration tests against cross binaries under qemu-user"
	@echo "make ipk           OpenWrt packages in dist/ (TARGET=\"mips mipsel\" for some; builds missing binaries)"
	@echo "make test-packages structure checks of the packages in dist/, rebuild + sha256 compare"
	@echo "make apk           OpenWrt 25.12 packages in dist/apk/ with apk-tools 3 (APK=...)"
	@echo "make test-apk      install, upgrade, remove the .apk packages with the real apk (root)"
	@echo "make test-luci     LuCI app: JSON, view syntax, ESLint, form/schema contract (part of make test)"
	@echo "make test-deploy   systemd unit, compose stack, Grafana dashboard vs influxd (part of make test)"
	@echo "make test-container the FROM scratch image with podman (builds the static x86_64 binary)"

run:
	@mkdir -p data
	$(CARGO) run --features full -- --config $(DEV_CONFIG)

# Tests run with every optional part built in; lint also checks the default build, which is what
# the router package `acs-edge` ships, and the build without the default parts.
test: lint
	$(CARGO) test --workspace --all-targets --all-features
	$(MAKE) check-no-std
	$(MAKE) test-luci
	$(MAKE) test-api-fuzz
	$(MAKE) test-deploy

# deploy/: the systemd unit, the image and the compose stack (docs/SELFHOST.md). test-deploy
# checks the image too when dist/ has its static binary; test-container builds that first.
test-deploy:
	$(CARGO) build -q --all-features --bin acs-edge
	deploy/test.sh

test-container:
	$(MAKE) cross TARGET=x86_64
	$(CARGO) build -q --all-features --bin acs-edge
	deploy/test.sh --container

test-api-fuzz:
	tests/fuzz-api.sh

# Also part of the workspace tests above (tests/it/readme.rs); this runs it alone.
test-readme:
	$(CARGO) test --all-features --test it readme::

lint:
	$(CARGO) fmt --all -- --check
	python3 dev/module-edges.py >/dev/null || python3 dev/module-edges.py
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --workspace --all-targets --no-default-features -- -D warnings

fmt:
	$(CARGO) fmt --all

bench:
	bench/run.sh $(if $(QUICK),--quick)

# Not part of make test: an hour by default. Exits non-zero on a lost reading or RSS growth.
soak:
	$(CARGO) build --release
	$(CARGO) run --release --example soak

check-no-std:
	proto/check-no-std.sh

fuzz:
	fuzz/run-all.sh $(or $(SECONDS),60)

clean:
	$(CARGO) clean
	rm -rf dist

-include cross/cross.mk
