# mxgate: kernel-assisted connection gate for backup mail exchangers.
#
#   make            build everything into build/
#   make check      format check, unit, BPF and namespace tests (root for the latter)
#   make demo       the whole story on a test network (root)
#   make help       list targets
#
# Quiet by default; V=1 shows every command. SAN=1 builds with ASan and
# UBSan into build-san/.

.DELETE_ON_ERROR:
.DEFAULT_GOAL := all

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ifeq ($(SAN),1)
OUT ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
OUT ?= build
SANFLAGS :=
endif

# Installation directories (GNU names); DESTDIR stages the whole tree.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL ?= install

CC ?= gcc
CLANG ?= clang
CLANG_FORMAT ?= clang-format
BPFTOOL ?= bpftool
PROVE ?= prove

# Every external library is a Debian -dev package found with pkg-config.
# The variables expand lazily, after the deps stamp has installed them.
PKGS := libbpf libnftnl libmnl ldns inih libseccomp openssl hiredis
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS)) -lcap

CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
	-Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-D_GNU_SOURCE -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
	$(SANFLAGS) $(PKG_CFLAGS) -MMD -MP
override LDFLAGS += $(SANFLAGS)

# The BPF object is built for the machine that builds it: its multiarch
# include directory, and libbpf's __TARGET_ARCH_* from the compiler's target
# triplet (x86_64-linux-gnu -> x86, aarch64-linux-gnu -> arm64, ...).
TRIPLET := $(shell $(CC) -dumpmachine)
TRIPLET_CPU := $(firstword $(subst -, ,$(TRIPLET)))
BPF_ARCH ?= $(or \
	$(if $(filter x86_64 i386 i486 i586 i686,$(TRIPLET_CPU)),x86), \
	$(if $(filter aarch64 arm64,$(TRIPLET_CPU)),arm64), \
	$(if $(filter arm%,$(TRIPLET_CPU)),arm), \
	$(if $(filter riscv%,$(TRIPLET_CPU)),riscv), \
	$(if $(filter powerpc% ppc%,$(TRIPLET_CPU)),powerpc), \
	$(if $(filter s390%,$(TRIPLET_CPU)),s390), \
	$(if $(filter mips%,$(TRIPLET_CPU)),mips), \
	$(if $(filter loongarch%,$(TRIPLET_CPU)),loongarch), \
	$(if $(filter sparc%,$(TRIPLET_CPU)),sparc), \
	$(error $(CC) -dumpmachine says $(TRIPLET): no __TARGET_ARCH_ known for $(TRIPLET_CPU); \
		set BPF_ARCH=x86|arm64|arm|riscv|powerpc|s390|mips|loongarch|sparc))
ARCH_INC := /usr/include/$(TRIPLET)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Wextra \
	-Wno-unused-parameter -I$(ARCH_INC) -Ibpf

DEPS_STAMP := $(OUT)/.deps-installed

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))

# userspace/ has one folder per subsystem (docs/architecture.md). Each
# folder is compiled with include paths to itself and to what it may use,
# and nothing else, so a dependency against the one-way flow (say, the
# unprivileged responder reaching into the controller or the gate) fails to
# build. Only gate/ sees bpf/, the kernel's map layouts (KERN_USERS). The
# two programs see every folder; the tests see bpf/ as well.
SUBSYSTEMS := base config dns probe state smtp pass responder policy gate fleet mxgated cli
USES_base := base
USES_config := base config
USES_dns := base dns
USES_probe := base probe
USES_state := base dns probe state
USES_smtp := base state smtp
USES_pass := base state smtp config pass
USES_responder := base state smtp config pass responder
USES_policy := base state smtp config pass policy
USES_gate := base state smtp config gate
USES_fleet := base config fleet
USES_mxgated := $(SUBSYSTEMS)
USES_cli := $(SUBSYSTEMS)
KERN_USERS := gate
subsys_inc = $(addprefix -Iuserspace/,$(USES_$(1))) $(if $(filter $(1),$(KERN_USERS)),-Ibpf)
ALL_INC := $(call subsys_inc,mxgated)
TEST_INC := $(ALL_INC) -Ibpf -I$(OUT)

LIB_SRCS := $(filter-out %/main_mxgated.c %/main_mxgate.c,$(wildcard userspace/*/*.c))
LIB_OBJS := $(patsubst userspace/%.c,$(OUT)/obj/%.o,$(LIB_SRCS))
LIB := $(OUT)/libmxgate.a

PROGS := $(OUT)/mxgated $(OUT)/mxgate

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))
TEST_HELPER_SRCS := $(wildcard tests/helpers/*.c)
TEST_HELPERS := $(patsubst tests/helpers/%.c,$(OUT)/tests/helpers/%,$(TEST_HELPER_SRCS))
# Test hooks stay out of the shipped binaries: shared objects a test
# preloads (LD_PRELOAD) into mxgated.
TEST_PRELOAD_SRCS := $(wildcard tests/preload/*.c)
TEST_PRELOADS := $(patsubst tests/preload/%.c,$(OUT)/tests/preload/%.so,$(TEST_PRELOAD_SRCS))

.PHONY: all deps check check-root check-unit check-integration check-san check-kernel demo bench fuzz \
	format format-check install uninstall clean help deb

all: $(PROGS) $(BPF_OBJS) $(SKELS) $(UNIT_BINS) $(TEST_HELPERS) $(TEST_PRELOADS)

help:
	@echo 'make              build mxgated, mxgate, the BPF object and the tests into $(OUT)/'
	@echo 'make check        run every test (namespace tests need root); summary from prove'
	@echo 'make check-unit   unit and BPF_PROG_TEST_RUN tests only'
	@echo 'make check-san    unit tests built with ASan and UBSan'
	@echo 'make check-kernel KERNEL=6.1|6.12  kernel-facing tests on a Debian kernel under qemu (root)'
	@echo 'make format-check fail on any C file that .clang-format would change'
	@echo 'make format       reformat those files in place'
	@echo 'make demo         narrated demo on a test network (root)'
	@echo 'make bench        benchmarks against baselines measured in the same run (root)'
	@echo 'make fuzz         libFuzzer harnesses for a bounded time'
	@echo 'make deb          the Debian package into $(OUT)/deb/ (dpkg-buildpackage, then lintian)'
	@echo 'make install      install (DESTDIR, PREFIX, SBINDIR, SYSCONFDIR, MANDIR, UNITDIR honoured)'
	@echo 'make uninstall    remove what install put there (an edited mxgate.conf stays)'
	@echo 'make deps         install the Debian packages the build and tests need'
	@echo 'V=1 shows commands; SAN=1 builds with sanitizers into build-san/'

deps: $(DEPS_STAMP)

$(DEPS_STAMP): scripts/install-deps.sh scripts/install-packages.sh
	$(Q)mkdir -p $(@D)
	$(Q)sh scripts/install-deps.sh
	$(Q)touch $@

$(OUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

# $* is e.g. gate/gate_tc: its folder picks the include paths.
$(OUT)/obj/%.o: userspace/%.c | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(call subsys_inc,$(patsubst %/,%,$(dir $*))) -c $< -o $@

# Only the tc backend includes the skeleton.
$(OUT)/obj/gate/gate_tc.o: $(SKELS)
$(OUT)/obj/gate/gate_tc.o: override CFLAGS += -I$(OUT)

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(OUT)/mxgated: userspace/mxgated/main_mxgated.c $(LIB) | $(DEPS_STAMP)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(ALL_INC) $(LDFLAGS) $< $(LIB) $(PKG_LIBS) -o $@

$(OUT)/mxgate: userspace/cli/main_mxgate.c $(LIB) | $(DEPS_STAMP)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(ALL_INC) $(LDFLAGS) $< $(LIB) $(PKG_LIBS) -o $@

$(OUT)/tests/%: tests/unit/%.c $(LIB) $(SKELS) | $(DEPS_STAMP)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(TEST_INC) -Itests/unit $(LDFLAGS) $< $(LIB) $(PKG_LIBS) -lcmocka -o $@

$(OUT)/tests/helpers/%: tests/helpers/%.c $(LIB) $(SKELS) | $(DEPS_STAMP)
	$(call msg,HELPER,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(TEST_INC) $(LDFLAGS) $< $(LIB) $(PKG_LIBS) -o $@

# Built without the sanitizers: preloaded ahead of an ASan runtime it
# would have to come first (the test sets verify_asan_link_order=0).
$(OUT)/tests/preload/%.so: tests/preload/%.c | $(DEPS_STAMP)
	$(call msg,PRELOAD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(filter-out $(SANFLAGS),$(CFLAGS)) -fPIC -shared $< -ldl -o $@

# Every C file we write is formatted by the repository's .clang-format
# (kernel style); `make check` refuses a tree where one is not.
FORMAT_SRCS := $(sort $(wildcard userspace/*/*.[ch] bpf/*.[ch] tests/unit/*.[ch] \
	tests/helpers/*.[ch] tests/preload/*.[ch]))

format-check: | $(DEPS_STAMP)
	$(call msg,FORMAT,check)
	$(Q)sh scripts/check-architecture.sh
	$(Q)bad=$$(for f in $(FORMAT_SRCS); do \
		$(CLANG_FORMAT) --dry-run --Werror "$$f" >/dev/null 2>&1 || echo "$$f"; done); \
	if [ -n "$$bad" ]; then \
		echo "format-check: not formatted as .clang-format says:" >&2; \
		for f in $$bad; do echo "  $$f" >&2; done; \
		echo "fix with: $(CLANG_FORMAT) -i" $$bad "(or: make format)" >&2; \
		exit 1; \
	fi

format: | $(DEPS_STAMP)
	$(call msg,FORMAT,$(words $(FORMAT_SRCS)) files)
	$(Q)$(CLANG_FORMAT) -i $(FORMAT_SRCS)

# The test runner is prove: cmocka speaks TAP, the shell tests print TAP.
# Most tests build network namespaces and load BPF: without root they
# would all skip and the run would look green, so refuse instead.
check: check-root all format-check
	$(Q)OUT=$(OUT) tests/run

check-root:
	$(Q)[ "$$(id -u)" -eq 0 ] || { echo "make check: needs root (network namespaces, BPF); run it as root, or 'make check-unit' for the unit tests alone" >&2; exit 1; }

check-unit: all
	$(Q)OUT=$(OUT) tests/run --unit

# Unit tests and the responder's end-to-end tests (which run
# $MXG_OUT/tests/helpers/responder_harness) against the ASan/UBSan build.
check-san:
	$(Q)$(MAKE) --no-print-directory SAN=1 all
	$(Q)OUT=build-san tests/run $$(find build-san/tests -maxdepth 1 -name 'test_*' -type f \
		-perm -u+x | sort) $(wildcard tests/integration/*responder*.t)

# The kernel-facing tests (tests/kernel/subset) on Debian's stock kernel
# KERNEL=6.1|6.12, booted under qemu with this tree visible; nothing is
# installed on the host. KERNEL_TESTS=ci: CI's part; or test files.
check-kernel: all
	$(Q)OUT=$(OUT) tests/kernel/check-kernel "$(KERNEL)" $(KERNEL_TESTS)

demo: all
	$(Q)OUT=$(OUT) tests/demo.sh


# Benchmarks (bench/) and fuzzing (tests/fuzz/): built only by `make bench`
# and `make fuzz`, never by `all` or `check`. Bench BPF sources live under
# bench/ so the bpf/*.bpf.c skeleton rule does not pick them up.
BENCH_BPF := $(patsubst bench/%.bpf.c,$(OUT)/bench/%.bpf.o,$(wildcard bench/*.bpf.c))
BENCH_SKIP := %.bpf.c
BENCH_BINS := $(patsubst bench/%.c,$(OUT)/bench/%,$(filter-out $(BENCH_SKIP),$(wildcard bench/*.c)))

$(OUT)/bench/%.bpf.o: bench/%.bpf.c | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/bench/%: bench/%.c $(LIB) $(SKELS) | $(DEPS_STAMP)
	$(call msg,BENCH,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(TEST_INC) $(LDFLAGS) $< $(LIB) $(PKG_LIBS) -o $@

bench: all $(BENCH_BPF) $(BENCH_BINS)
	$(Q)OUT=$(OUT) bench/run

FUZZ_OUT := build-fuzz
FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -std=gnu11 -D_GNU_SOURCE \
	$(PKG_CFLAGS)
FUZZ_LIB_OBJS := $(patsubst userspace/%.c,$(FUZZ_OUT)/obj/%.o,$(LIB_SRCS))

$(FUZZ_OUT)/obj/%.o: userspace/%.c $(SKELS) | $(DEPS_STAMP)
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_FLAGS) $(call subsys_inc,$(patsubst %/,%,$(dir $*))) -I$(OUT) \
		-fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OUT)/libmxgate.a: $(FUZZ_LIB_OBJS)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OUT)/libmxgate.a
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_FLAGS) $(TEST_INC) -fsanitize=fuzzer $< $(FUZZ_OUT)/libmxgate.a $(PKG_LIBS) -o $@

# tests/fuzz/run builds each harness whose code exists, then runs it.
fuzz: $(SKELS)
	$(Q)FUZZ_OUT=$(FUZZ_OUT) tests/fuzz/run

# The configuration is installed only when absent, and removed only when
# it is still the unmodified example: an administrator's file is never
# overwritten or deleted.
INST_CONF := $(DESTDIR)$(SYSCONFDIR)/mxgate
INST_FILES := $(DESTDIR)$(SBINDIR)/mxgated $(DESTDIR)$(SBINDIR)/mxgate \
	$(DESTDIR)$(MANDIR)/man8/mxgated.8 $(DESTDIR)$(MANDIR)/man8/mxgate.8 \
	$(DESTDIR)$(MANDIR)/man5/mxgate.conf.5 $(DESTDIR)$(UNITDIR)/mxgated.service \
	$(INST_CONF)/mxgate.conf.example

install: $(PROGS)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR)
	$(Q)$(INSTALL) -d -m 0755 $(INST_CONF)
	$(Q)$(INSTALL) -m 0755 $(PROGS) $(DESTDIR)$(SBINDIR)/
	$(Q)$(INSTALL) -m 0644 man/mxgated.8 man/mxgate.8 $(DESTDIR)$(MANDIR)/man8/
	$(Q)$(INSTALL) -m 0644 man/mxgate.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		deploy/mxgated.service.in > $(OUT)/mxgated.service
	$(Q)$(INSTALL) -m 0644 $(OUT)/mxgated.service $(DESTDIR)$(UNITDIR)/mxgated.service
	$(Q)$(INSTALL) -m 0644 docs/mxgate.conf.example $(INST_CONF)/mxgate.conf.example
	$(Q)test -e $(INST_CONF)/mxgate.conf || \
		$(INSTALL) -m 0640 docs/mxgate.conf.example $(INST_CONF)/mxgate.conf

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)if cmp -s $(INST_CONF)/mxgate.conf docs/mxgate.conf.example; then \
		rm -f $(INST_CONF)/mxgate.conf; fi
	$(Q)rm -f $(INST_FILES)
	$(Q)rmdir $(INST_CONF) 2>/dev/null || true

# The Debian package, built from a copy of the committed tree plus the
# working tree's changes (so build/ and editor files stay out of it), in
# $(OUT)/deb/, where dpkg-buildpackage leaves mxgate_*.deb; then lintian.
# scripts/install-deb-deps.sh installs debhelper, lintian and the rest.
DEB_DIR := $(OUT)/deb
deb:
	$(Q)sh scripts/install-deb-deps.sh
	$(call msg,DEB,$(DEB_DIR))
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	$(Q)git ls-files -z --cached --others --exclude-standard | \
		grep -zv -e '^build' | xargs -0 cp -a --parents -t $(DEB_DIR)/src
	$(Q)cd $(DEB_DIR)/src && dpkg-buildpackage -us -uc -b -j2 >../build.log 2>&1 || \
		{ tail -40 ../build.log; echo "make deb: dpkg-buildpackage failed; log in $(DEB_DIR)/build.log" >&2; exit 1; }
	$(Q)cd $(DEB_DIR) && { lintian --fail-on error mxgate_*.changes >lintian.log 2>&1; \
		rc=$$?; grep -v 'running with root privileges' lintian.log; exit $$rc; }
	$(Q)ls $(DEB_DIR)/mxgate_*.deb

clean:
	$(call msg,CLEAN,$(OUT))
	$(Q)rm -rf build build-san build-fuzz

-include $(wildcard $(OUT)/obj/*/*.d $(OUT)/tests/*.d $(OUT)/tests/helpers/*.d \
	$(OUT)/tests/preload/*.d $(OUT)/*.d)
