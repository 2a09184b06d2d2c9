# DDPM Studio — build, test and set-up targets. `make test` is what CI runs.
GO ?= go

# Debian/Ubuntu packages: the cgo toolchain, the X11/GL headers Fyne builds
# against, Xvfb + Mesa (llvmpipe) for the GUI and GL tests, and xdotool +
# ImageMagick to drive the real window and take screenshots in the tests;
# qemu-user runs the arm64 build of the recipe table, python3 the audit of
# the arm64 code (scripts/fma-audit.py).
DEB_PACKAGES := gcc pkg-config libc6-dev \
	libgl1-mesa-dev libegl1-mesa-dev libgles2-mesa-dev \
	libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev \
	xvfb xauth mesa-utils libgl1-mesa-dri libegl1 libegl-mesa0 libglx-mesa0 xdotool imagemagick \
	qemu-user python3

# fyne.Do everywhere, whatever folder the binary runs from (FyneApp.toml's
# migration is otherwise read from beside the executable).
export GOFLAGS := -tags=migrated_fynedo

.PHONY: deps run build test test-arm64 bench fuzz package screenshot

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "deps: installing$$missing" | tr '\n' ' '; echo; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "deps: missing packages; run:"; echo "  sudo apt-get install -y" $$missing; exit 1; \
	fi

# Opens the studio window on the embedded model.
run: deps
	$(GO) run .

build: deps
	$(GO) build -o ddpmstudio .

# An installable desktop package (icon, FyneApp.toml metadata), with the
# fyne tool from the module proxy.
package: deps
	$(GO) run fyne.io/tools/cmd/fyne@v1.7.4 package -os linux -icon assets/icon.png --release

# Re-takes docs/screenshot.png: the window under Xvfb, mid-chain.
screenshot: build
	scripts/screenshot.sh docs/screenshot.png

# The whole suite runs under the race detector (about 4 min on 2 cores,
# against ~40 s without it): the engine is concurrent and the GUI will be.
test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...
	$(MAKE) --no-print-directory test-arm64

# The same picture on every computer (docs/determinism.md): the CLI builds
# without cgo for arm64, macOS and Windows; the arm64 build's code has no
# fused multiply-add the canonical order does not name; and the recipe
# table gives the checked-in hashes on arm64 too, under qemu-aarch64.
ARM64_TMP := $(CURDIR)/.build/arm64
test-arm64:
	mkdir -p $(ARM64_TMP)
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null .
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null .
	CGO_ENABLED=0 GOARCH=arm64 $(GO) build -o $(ARM64_TMP)/ddpmstudio.arm64 .
	$(GO) tool objdump $(ARM64_TMP)/ddpmstudio.arm64 | python3 scripts/fma-audit.py >/dev/null
	CGO_ENABLED=0 GOARCH=arm64 $(GO) test -c -o $(ARM64_TMP)/determinism.arm64.test ./internal/determinism
	cd internal/determinism && qemu-aarch64 $(ARM64_TMP)/determinism.arm64.test -test.run '^TestRecipeHashes$$' -test.v
	rm -rf $(ARM64_TMP)

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

# Short fuzzing passes over the parsers of outside files.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./safetensors
	$(GO) test -run '^$$' -fuzz FuzzRead -fuzztime 30s ./torchbin
	$(GO) test -run '^$$' -fuzz FuzzParseSchedulerConfig -fuzztime 30s ./diffusion
	$(GO) test -run '^$$' -fuzz FuzzParseConfig -fuzztime 30s ./unet
	$(GO) test -run '^$$' -fuzz FuzzReadPNGText -fuzztime 30s ./imageio
	$(GO) test -run '^$$' -fuzz FuzzDecodeRecipe -fuzztime 30s ./studio
	$(GO) test -run '^$$' -fuzz FuzzConfigToModel -fuzztime 30s ./unet
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./imageio
	$(GO) test -run '^$$' -fuzz FuzzParseIDX -fuzztime 30s ./train
	$(GO) test -run '^$$' -fuzz FuzzStateMeta -fuzztime 30s ./train
