# umlkit: one non-recursive Makefile. `make`, `make check`, `make demo`, `make bench`.
#
#   make                 build/umlkit and the compatibility links beside it
#   make check           unit, shell (real UML guests) and fuzz-corpus tests through prove,
#                        TEST_JOBS at a time (default 2 x cores); check-quick: no guests;
#                        NO_DEBIAN=1: without the tests that boot Debian images
#   make SANITIZE=1 ...  ASan + UBSan build (objects under build/san)
#   make CC=clang ...    clang build (objects under build/clang)
#   make install PREFIX=/usr/local DESTDIR=   binary + man pages; install-compat: old names
#   make fuzz            libFuzzer targets (clang), FUZZ_SECONDS=N to run them side by side
#   make bench           benchmarks against uml_moo, qemu-img, cp, mmdebstrap, a Netkit-style lab
#   make format / format-check    V=1 shows the commands

SHELL := /bin/bash
.SUFFIXES:
.DELETE_ON_ERROR:
# test objects are intermediate files to make; keep them, or every build relinks them all
.SECONDARY:

CC ?= cc
ifeq ($(origin CC),default)
CC := cc
endif
IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -q clang && echo 1)

ifeq ($(SANITIZE),1)
VARIANT := san
endif
ifeq ($(IS_CLANG),1)
VARIANT := $(if $(VARIANT),clang-$(VARIANT),clang)
endif
BUILD ?= build$(if $(VARIANT),/$(VARIANT))

# jansson: JSON output; libnl: taps and bridges over netlink; libnftables: the firewall;
# slirp: the switch's rootless NAT uplink; libseccomp: the daemons' syscall allowlists
PKGS := jansson libnl-3.0 libnl-route-3.0 libnftables slirp libseccomp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || \
	echo -ljansson -lnl-route-3 -lnl-3 -lnftables -lslirp -lglib-2.0 -lseccomp)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes \
	-Wno-unused-parameter
ifneq ($(IS_CLANG),1)
WARN += -Wjump-misses-init
endif
WERROR ?= -Werror
OPT ?= -O2
CFLAGS ?= $(OPT) -g
CFLAGS += -std=gnu11 $(WARN) $(WERROR) -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
	-D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Iinclude -MMD -MP $(PKG_CFLAGS)
LDFLAGS ?=
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.1.0)
CFLAGS += -DUK_VERSION='"$(VERSION)"' -DUK_SHIM_DIR='"$(SHIMDIR)"'

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SHIMDIR ?= $(PREFIX)/lib/umlkit
COMPAT_NAMES := uml_moo uml_mkcow uml_mconsole tunctl uml_switch lstart lhalt lcrash lclean \
	linfo lrestart ltest

LIB_SRC := $(sort $(wildcard lib/*/*.c))
CMD_SRC := $(sort $(wildcard cmd/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
HELPER_SRC := $(sort $(wildcard tests/helpers/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CMD_OBJ := $(CMD_SRC:%.c=$(BUILD)/obj/%.o)
LIBA := $(BUILD)/libumlkit.a
UMLKIT := $(BUILD)/umlkit
COMPAT := $(COMPAT_NAMES:%=$(BUILD)/%)
# the xstate shim preloaded into the kernel on large-XSAVE hosts (include/umlkit/xstate.h):
# it lives inside the kernel's process, so it is built without sanitizers or libumlkit
SHIM := $(BUILD)/umlkit-xstate.so
SHIM_SRC := shim/xstate_shim.c lib/util/xstate.c
# the guest agent (include/umlkit/agent.h): a static program installed into guest images; it
# runs inside the guest, so it is built without sanitizers and links only the codec, the
# archive code and the error and I/O helpers of lib/
AGENT := $(BUILD)/umlkit-agent
AGENT_SRC := agent/umlkit-agent.c lib/agent/codec.c lib/agent/archive.c lib/util/err.c \
	lib/util/io.c
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
HELPER_BIN := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/tests/helpers/%)
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(BUILD)/tests/fuzz/replay_%)

.PHONY: all check check-quick check-kernel test-build deps demo lab-demo bench install install-compat uninstall fuzz \
	fuzz-build \
	format format-check clean

all: $(UMLKIT) $(COMPAT) $(SHIM) $(AGENT)

ifneq ($(V),1)
Q := @
QCC = @echo "  CC      $<";
QLD = @echo "  LD      $@";
endif

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(QCC)$(CC) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(UMLKIT): $(CMD_OBJ) $(LIBA)
	$(QLD)$(CC) $(LDFLAGS) -o $@ $(CMD_OBJ) $(LIBA) $(PKG_LIBS)

$(SHIM): $(SHIM_SRC) include/umlkit/xstate.h
	@mkdir -p $(@D)
	$(QLD)$(CC) -std=gnu11 $(WARN) $(WERROR) -O2 -g -fPIC -shared -D_GNU_SOURCE -Iinclude \
		-o $@ $(SHIM_SRC) -ldl

$(AGENT): $(AGENT_SRC) include/umlkit/agent.h include/umlkit/util.h include/umlkit/err.h
	@mkdir -p $(@D)
	$(QLD)$(CC) -std=gnu11 $(WARN) $(WERROR) -O2 -s -static -D_GNU_SOURCE \
		-D_FILE_OFFSET_BITS=64 -Iinclude -DUK_VERSION='"$(VERSION)"' -o $@ $(AGENT_SRC)

$(COMPAT): | $(UMLKIT)
	$(Q)ln -sf umlkit $@

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(LIBA)
	@mkdir -p $(@D)
	$(QLD)$(CC) $(LDFLAGS) -o $@ $< $(LIBA) $(PKG_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/helpers/%: $(BUILD)/obj/tests/helpers/%.o $(LIBA)
	@mkdir -p $(@D)
	$(QLD)$(CC) $(LDFLAGS) -o $@ $< $(LIBA) $(PKG_LIBS)

$(BUILD)/tests/fuzz/replay_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/replay.o $(LIBA)
	@mkdir -p $(@D)
	$(QLD)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

test-build: all $(UNIT_BIN) $(HELPER_BIN) $(REPLAY_BIN)

deps:
	@scripts/deps

# The test run: prove over unit, fuzz-corpus and shell tests; scripts/run-tests prints
# prove's summary and then one line "N passed, N failed, N skipped".
# Test programs run TEST_JOBS at a time (default twice the cores: the shell tests mostly wait
# for guests, each in its own uml_dir and state directory). `make check-quick` runs the unit
# tests, the corpus replays and the shell tests that boot no guest (QUICK_SH), as CI does for
# the clang build.
NPROC := $(shell nproc 2>/dev/null || echo 2)
TEST_JOBS ?= $(shell echo $$(($(NPROC) * 2)))
# the longest shell tests start first, so that none of them is left running alone at the end
SLOW_SH := $(wildcard tests/sh/image_debian.t tests/sh/image_lab.t tests/sh/debian_guest.t \
	tests/sh/lab.t tests/sh/lab_examples.t \
	tests/sh/walkthrough.t tests/sh/guest_lifecycle.t tests/sh/switch.t tests/sh/cow_crash.t \
	tests/sh/net_guest.t tests/sh/switch_legacy.t tests/sh/guest_state.t tests/sh/kernel.t \
	tests/sh/guest_jail.t)
SH_TESTS := $(SLOW_SH) $(filter-out $(SLOW_SH),$(sort $(wildcard tests/sh/*.t)))
# NO_DEBIAN=1 leaves out the tests that boot Debian images (CI's sanitizer and clang passes:
# the gcc pass runs them; they are mostly guest and mirror time, the same in every build)
DEBIAN_SH := tests/sh/image_debian.t tests/sh/image_lab.t tests/sh/debian_guest.t \
	tests/sh/walkthrough.t tests/sh/lab.t tests/sh/lab_examples.t tests/sh/lab_kernel.t
ifeq ($(NO_DEBIAN),1)
SH_TESTS := $(filter-out $(DEBIAN_SH),$(SH_TESTS))
endif
check: deps
	@$(MAKE) --no-print-directory -j$(NPROC) test-build
	@UK_BUILD=$(abspath $(BUILD)) SANITIZE=$(SANITIZE) UK_TEST_JOBS=$(TEST_JOBS) \
		scripts/run-tests $(BUILD) $(SH_TESTS) $(UNIT_BIN) $(REPLAY_BIN)

# A smoke suite on a kernel from Debian's archive (CI: KERNEL=sid, fetched into the test
# cache once and reused): the guest lifecycle, the switch with NAT over fd and bess, a COW
# boot and merge, the agent, trim, a lab machine (the Debian test image make check cached);
# with SECCOMP=on (CI's) its guests run in seccomp mode.
KERNEL ?= sid
SECCOMP ?= on
SMOKE_SH := tests/sh/guest_lifecycle.t tests/sh/switch_nat.t tests/sh/guest.t \
	tests/sh/cow_guest.t tests/sh/agent.t tests/sh/guest_trim.t tests/sh/lab_kernel.t
TEST_CACHE ?= /var/tmp/umlkit-test-cache
check-kernel: deps
	@$(MAKE) --no-print-directory -j$(NPROC) test-build
	@k=$$(UMLKIT_CACHE_DIR=$(TEST_CACHE) $(BUILD)/umlkit kernel fetch -q $(KERNEL) | cut -f3) && \
	echo "check-kernel: $(KERNEL) is $$k ($$($$k --version)), seccomp $(SECCOMP)" && \
	UMLKIT_KERNEL=$$k UMLKIT_SECCOMP=$(SECCOMP) UMLKIT_CACHE_DIR=$(TEST_CACHE) \
	UK_BUILD=$(abspath $(BUILD)) SANITIZE=$(SANITIZE) UK_TEST_JOBS=$(TEST_JOBS) \
		scripts/run-tests $(BUILD)/kernel-$(KERNEL) $(SMOKE_SH)

QUICK_SH := tests/sh/lib.t tests/sh/cow_cli.t tests/sh/cow_compat.t tests/sh/cow_bad_input.t \
	tests/sh/guest_console.t
check-quick: deps
	@$(MAKE) --no-print-directory -j$(NPROC) test-build
	@UK_BUILD=$(abspath $(BUILD)) SANITIZE=$(SANITIZE) UK_TEST_JOBS=$(TEST_JOBS) \
		scripts/run-tests $(BUILD) $(UNIT_BIN) $(REPLAY_BIN) $(QUICK_SH)

demo: deps
	@$(MAKE) --no-print-directory all
	@UK_BUILD=$(abspath $(BUILD)) scripts/demo

lab-demo: deps
	@$(MAKE) --no-print-directory all
	@UK_BUILD=$(abspath $(BUILD)) scripts/lab-demo

bench: deps
	@$(MAKE) --no-print-directory test-build
	@UK_BUILD=$(abspath $(BUILD)) bench/cow
	@UK_BUILD=$(abspath $(BUILD)) bench/guest
	@UK_BUILD=$(abspath $(BUILD)) bench/switch
	@UK_BUILD=$(abspath $(BUILD)) bench/vxlan
	@UK_BUILD=$(abspath $(BUILD)) bench/image
	@UK_BUILD=$(abspath $(BUILD)) bench/lab-image
	@UK_BUILD=$(abspath $(BUILD)) bench/lab

# libFuzzer targets need clang. One copy of lib/ is built for them (instrumented with
# -fsanitize=fuzzer-no-link, objects under build/fuzz/obj) and each target links it;
# `make fuzz FUZZ_SECONDS=30` then runs the targets side by side, FUZZ_JOBS at a time
# (default: one per core), each on its seed corpus plus its own, its output in
# build/fuzz/NAME.log. Exits non-zero when a target found a crash (its log says which input).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 0
FUZZ_JOBS ?= $(NPROC)
FUZZ_DIR := build/fuzz
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Iinclude $(PKG_CFLAGS) \
	-DUK_VERSION='"$(VERSION)"' -fsanitize=fuzzer-no-link,address,undefined
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/%)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(QCC)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/libumlkit-fuzz.a: $(FUZZ_LIB_OBJ)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_DIR)/libumlkit-fuzz.a
	$(QLD)$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: deps
	@$(MAKE) --no-print-directory -j$(NPROC) fuzz-build
	@if [ "$(FUZZ_SECONDS)" != 0 ]; then \
		FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/run-fuzz $(FUZZ_JOBS) $(FUZZ_BIN); fi

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(UMLKIT) $(DESTDIR)$(BINDIR)/umlkit
	install -d $(DESTDIR)$(SHIMDIR)
	install -m 0644 $(SHIM) $(DESTDIR)$(SHIMDIR)/umlkit-xstate.so
	install -m 0755 $(AGENT) $(DESTDIR)$(SHIMDIR)/umlkit-agent
	install -m 0644 $(wildcard docs/*.1) $(DESTDIR)$(MANDIR)/man1/

install-compat: install
	for n in $(COMPAT_NAMES); do ln -sf umlkit $(DESTDIR)$(BINDIR)/$$n; done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/umlkit $(COMPAT_NAMES:%=$(DESTDIR)$(BINDIR)/%)
	rm -f $(DESTDIR)$(SHIMDIR)/umlkit-xstate.so $(DESTDIR)$(SHIMDIR)/umlkit-agent
	rm -f $(patsubst docs/%,$(DESTDIR)$(MANDIR)/man1/%,$(wildcard docs/*.1))

FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
