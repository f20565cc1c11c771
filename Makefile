# treecast: Kbuild-style, non-recursive GNU make build.  `make help` says how
# to use it; docs/build.md explains the layout and the Kbuild conventions.
#
# One make invocation builds one configuration ($(O)/.config) and, for a host
# configuration, its test variants:
#   $(O)/           the configured build (objects mirror the source tree)
#   $(O)/san/       lib/, os/, tests/ again with ASan+UBSan (unit tests, replays)
#   $(O)/fuzz/      lib/, os/, tests/fuzz/ with clang and libFuzzer
#   $(O)/deps/      third-party libraries (scripts/fetch-deps): src/, host/, musl/
# A second configuration is a sub-build: host_defconfig names agent_defconfig
# in CONFIG_AGENT_DEFCONFIG, so `make` also runs this Makefile with O=$(O)/agent
# (musl-gcc, static, lwIP) and copies its treecast-agent to $(O)/treecast-agent.
# The sub-build shares $(O)/deps, so the sources are fetched once.

TC_VERSION := 0.1.0

MAKEFLAGS += -rR --no-print-directory
.SUFFIXES:
.DELETE_ON_ERROR:

# --- source and build trees --------------------------------------------------

srctree := $(patsubst %/,%,$(dir $(realpath $(firstword $(MAKEFILE_LIST)))))
ifeq ($(srctree),$(CURDIR))
srctree := .
endif
# Prefix for source paths: empty in the source tree, so that commands, quiet
# lines and __FILE__ stay short.
src := $(if $(filter .,$(srctree)),,$(srctree)/)

O ?= build
objtree := $(patsubst ./%,%,$(patsubst %/,%,$(O)))
ifeq ($(abspath $(objtree)),$(abspath $(srctree)))
$(error O=$(O) is the source tree; build in a directory of its own (default: build))
endif
DEPS ?= $(objtree)/deps
override DEPS := $(patsubst ./%,%,$(patsubst %/,%,$(DEPS)))

# V=1 prints whole commands; -s prints nothing.
V ?= 0
ifeq ($(V),1)
quiet :=
Q :=
else
quiet := quiet_
Q := @
endif
ifneq ($(findstring s,$(firstword -$(MAKEFLAGS))),)
quiet := silent_
endif

# Quiet lines show paths relative to the top-level build directory (a
# sub-build is passed its parent's).
TOP_OBJTREE ?= $(objtree)
# The defconfig a missing $(O)/.config is made from.
KBUILD_DEFCONFIG ?= host_defconfig

include $(src)scripts/Kbuild.include

.DEFAULT_GOAL := all
PHONY := FORCE
FORCE:

# --- goals that need no configuration ------------------------------------------

no-config-goals := help clean distclean format %_defconfig
config-goals := $(filter %_defconfig,$(MAKECMDGOALS))
other-goals := $(filter-out %_defconfig,$(MAKECMDGOALS))
need-config := $(if $(MAKECMDGOALS),$(filter-out $(no-config-goals),$(MAKECMDGOALS)),all)

# A marker that says a directory is a treecast build directory, so that clean
# and distclean remove only what this Makefile made.
build-marker := $(objtree)/.treecast-build

ifneq ($(and $(config-goals),$(other-goals)),)
# `make host_defconfig all`: one goal after the other, each in its own make.
PHONY += $(MAKECMDGOALS) __one_by_one
$(MAKECMDGOALS): __one_by_one
	@:
__one_by_one:
	$(Q)set -e; for g in $(MAKECMDGOALS); do $(MAKE) -f $(src)Makefile $$g; done

else # ----------------------------------------------------------------------------

# `make NAME_defconfig`: write $(O)/.config (its first line says where it came
# from) and $(O)/include/generated/autoconf.h.
quiet_cmd_defconfig = GEN     $(patsubst $(TOP_OBJTREE)/%,%,$(objtree)/.config) (from configs/$@)
      cmd_defconfig = mkdir -p $(objtree) && touch $(build-marker) && \
		{ echo '\# from: configs/$@'; cat $(src)configs/$@; } > $(objtree)/.config

PHONY += $(config-goals)
$(config-goals):
	@test -f $(src)configs/$@ || { echo "No configs/$@ (see: ls configs/)" >&2; exit 1; }
	$(call cmd,defconfig)
	$(Q)$(MAKE) -f $(src)Makefile $(objtree)/include/generated/autoconf.h

# --- configuration -------------------------------------------------------------

ifneq ($(need-config),)

# The defconfig the existing .config was made from (first line), if any.
config-origin := $(shell sed -n '1s/^\# from: configs\///p' $(objtree)/.config 2>/dev/null)
ifeq ($(wildcard $(objtree)/.config),)
config-src := $(KBUILD_DEFCONFIG)
else ifneq ($(config-origin),)
# Made from a defconfig: remake it when that defconfig changes (edits made to
# .config by hand are then replaced, and the message says so), or when the
# caller asks for another defconfig (the agent sub-build does).
config-src := $(config-origin)
ifeq ($(origin KBUILD_DEFCONFIG),command line)
ifneq ($(KBUILD_DEFCONFIG),$(config-origin))
config-src := $(KBUILD_DEFCONFIG)
config-force := FORCE
endif
endif
endif

ifneq ($(config-src),)
$(objtree)/.config: $(src)configs/$(config-src) $(config-force)
	@echo '  GEN     $(patsubst $(TOP_OBJTREE)/%,%,$@) (from configs/$(config-src)$(if $(wildcard $@),$(comma) which changed: edits to .config are replaced))'
	@mkdir -p $(objtree) && touch $(build-marker)
	@{ echo '# from: configs/$(config-src)'; cat $<; } > $@
endif
include $(objtree)/.config

quiet_cmd_autoconf = GEN     $(pretty-target)
filechk_autoconf = $(src)scripts/gen-autoconf $(objtree)/.config
$(objtree)/include/generated/autoconf.h: $(objtree)/.config FORCE
	$(call filechk,autoconf)

quiet_cmd_version_h = GEN     $(pretty-target)
filechk_version_h = printf '%s\n' \
	'/* Generated by the Makefile: do not edit. */' \
	'\#ifndef TC_GENERATED_VERSION_H' \
	'\#define TC_GENERATED_VERSION_H' \
	'\#define TC_VERSION "$(TC_VERSION)"' \
	'/* Link time of the program (UTC, RFC 3339) and the same instant in seconds' \
	' * since 1970: defined by an object the Makefile generates at each link. */' \
	'extern const char tc_build_time[];' \
	'extern const long long tc_build_time_unix;' \
	'\#endif'
$(objtree)/include/generated/version.h: FORCE
	$(call filechk,version_h)

endif # need-config

# --- options ---------------------------------------------------------------------

tc-cc := $(call unquote,$(CONFIG_CC))
deps-variant := $(call unquote,$(CONFIG_DEPS_VARIANT))
agent-defconfig := $(call unquote,$(CONFIG_AGENT_DEFCONFIG))
deps-dir := $(DEPS)/$(deps-variant)

AR := ar

# --- Kbuild files --------------------------------------------------------------
#
# Each directory's Kbuild file is included here in turn, with these variables
# reset before and read after:
#   obj-y += x.o          object of the directory's product (x.c; may be in a
#                         subdirectory: port/lwip/sys_arch.o)
#   obj-$(CONFIG_X) += x.o  the same, only when CONFIG_X=y
#   ccflags-y += -DFOO    extra compiler flags for the directory's objects
#   test-y += name        tests/unit only: program from tests/unit/name.c
#   testlib-y += x.o      tests/unit only: objects linked into every test program
#   fuzz-y += name        tests/fuzz only: libFuzzer target from tests/fuzz/name.c
#   ldlibs-y += -lm       server/, agent/: system libraries the program links
#   tool-y += name        tests/net only: test tool from tests/net/name.c, linked
#                         with libtcos and libtc of the configured build

kbuild-dirs := lib os sim server agent tests/unit tests/fuzz tests/net

define read-kbuild
obj-y :=
ccflags-y :=
test-y :=
testlib-y :=
fuzz-y :=
ldlibs-y :=
tool-y :=
include $(src)$(1)/Kbuild
objs-$(1) := $$(addprefix $(1)/,$$(obj-y))
ccflags-$(1) := $$(ccflags-y)
tests-$(1) := $$(test-y)
testlib-$(1) := $$(addprefix $(1)/,$$(testlib-y))
fuzz-$(1) := $$(fuzz-y)
ldlibs-$(1) := $$(ldlibs-y)
tools-$(1) := $$(tool-y)
endef
$(foreach d,$(kbuild-dirs),$(eval $(call read-kbuild,$(d))))

unit-tests := $(tests-tests/unit)
fuzz-targets := $(fuzz-tests/fuzz)

# The Kbuild directory a source file belongs to (for its ccflags-y).
kbuild-dir-of = $(firstword $(foreach d,$(kbuild-dirs),$(if $(filter $(d)/%,$(1)),$(d))))

# --- flags -------------------------------------------------------------------------

# Our code.  autoconf.h is force-included: every object sees CONFIG_*.
tc-cflags := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g
tc-cppflags = -I$(src)include -I$(objtree)/include/generated \
	-include $(objtree)/include/generated/autoconf.h \
	-DMBEDTLS_CONFIG_FILE='"mbedtls_config.h"' -I$(src)lib \
	-I$(deps-dir)/include
san-flags := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
fuzz-flags := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all

# musl-gcc hides /usr/include: give it the kernel's UAPI headers (linux/,
# asm/, asm-generic/ from linux-libc-dev) through a directory of links.
ifeq ($(CONFIG_MUSL),y)
uapi-dir := $(objtree)/include/uapi
tc-cppflags += -isystem $(uapi-dir)
endif
ifeq ($(CONFIG_LWIP),y)
ccflags-agent += -I$(src)agent/port/lwip
endif

EXTRA_CFLAGS ?=
EXTRA_LDFLAGS ?=

# Per variant: compiler, flags, link flags.  main = the configured build.
cc-main := $(tc-cc)
cflags-main = $(tc-cppflags) $(tc-cflags) $(if $(filter y,$(CONFIG_SANITIZE)),$(san-flags)) $(EXTRA_CFLAGS)
ldflags-main = $(if $(filter y,$(CONFIG_STATIC)),-static) $(if $(filter y,$(CONFIG_SANITIZE)),$(san-flags)) $(EXTRA_LDFLAGS)
cc-san := $(tc-cc)
cflags-san = $(tc-cppflags) $(tc-cflags) $(san-flags) $(EXTRA_CFLAGS)
ldflags-san = $(san-flags) $(EXTRA_LDFLAGS)
cc-fuzz := clang
cflags-fuzz = $(tc-cppflags) $(tc-cflags) $(fuzz-flags) $(EXTRA_CFLAGS)
ldflags-fuzz = -fsanitize=fuzzer,address,undefined $(EXTRA_LDFLAGS)

# Which variant an object belongs to (pattern-specific: the longest matching
# stem wins, so san/ and fuzz/ override the default); test programs say it
# below.
$(objtree)/%: variant := main
$(objtree)/san/%: variant := san
$(objtree)/fuzz/%: variant := fuzz

# --- third-party libraries -----------------------------------------------------

deps-libs := $(deps-dir)/lib/libmbedcrypto.a $(deps-dir)/lib/libz.a
ifeq ($(CONFIG_LWIP),y)
deps-libs += $(deps-dir)/lib/liblwip.a
endif
# The test variants link the host libraries (their configuration is the host's).
host-deps-libs := $(DEPS)/host/lib/libmbedcrypto.a $(DEPS)/host/lib/libz.a

quiet_cmd_fetch = FETCH   $(patsubst $(TOP_OBJTREE)/%,%,$(DEPS)) (lwip, mbedtls, zlib: scripts/deps.lock)
      cmd_fetch = $(src)scripts/fetch-deps fetch $(DEPS)
$(DEPS)/src/.fetched: $(src)scripts/deps.lock | tools
	$(call cmd,fetch)

quiet_cmd_deps = DEPS    $(pretty-target)
      cmd_deps = $(src)scripts/fetch-deps build $(DEPS) $(deps-lib-variant) $(deps-lib-cc) $(deps-lib)
deps-prereqs := $(DEPS)/src/.fetched $(src)scripts/fetch-deps FORCE
$(DEPS)/%/lib/libmbedcrypto.a: $(deps-prereqs) $(src)lib/mbedtls_config.h
	$(call if_changed,deps)
$(DEPS)/%/lib/libz.a: $(deps-prereqs)
	$(call if_changed,deps)
$(DEPS)/%/lib/liblwip.a: $(deps-prereqs) $(src)agent/port/lwip/lwipopts.h $(src)agent/port/lwip/arch/cc.h
	$(call if_changed,deps)
$(DEPS)/%/lib/libmbedcrypto.a: deps-lib := mbedtls
$(DEPS)/%/lib/libz.a: deps-lib := zlib
$(DEPS)/%/lib/liblwip.a: deps-lib := lwip
$(DEPS)/%: deps-lib-variant = $(firstword $(subst /, ,$(patsubst $(DEPS)/%,%,$@)))
# The host libraries are always built with gcc (the test variants link them).
$(DEPS)/%: deps-lib-cc = $(if $(filter host,$(deps-lib-variant)),gcc,$(tc-cc))

$(src)lib/mbedtls_config.h:
	@echo "error: lib/mbedtls_config.h is missing: it configures mbedTLS (MBEDTLS_CONFIG_FILE)" >&2
	@exit 1

# Everything an object of ours may include that is generated or fetched.
prepare := $(objtree)/include/generated/autoconf.h $(objtree)/include/generated/version.h \
	$(deps-libs) $(uapi-dir)
prepare-test := $(objtree)/include/generated/autoconf.h $(objtree)/include/generated/version.h \
	$(host-deps-libs)

ifneq ($(uapi-dir),)
quiet_cmd_uapi = GEN     $(pretty-target)
      cmd_uapi = rm -rf $@ && mkdir -p $@ && ma=$$(gcc -print-multiarch) && \
		ln -s /usr/include/linux /usr/include/asm-generic $@/ && \
		ln -s /usr/include/$$ma/asm $@/asm
$(uapi-dir):
	$(call cmd,uapi)
endif

# Debian packages (scripts/packages.txt): installed when one is missing.
PHONY += tools
tools:
	@$(src)scripts/setup --if-missing

# --- compiling -------------------------------------------------------------------

quiet_cmd_cc_o_c = CC      $(pretty-target)
      cmd_cc_o_c = $(cc-$(variant)) $(cflags-$(variant)) \
		$(ccflags-$(call kbuild-dir-of,$(patsubst $(src)%,%,$<))) \
		-MMD -MP -MF $(@:.o=.d) -c -o $@ $<

$(objtree)/%.o: $(src)%.c FORCE | $(prepare) tools
	$(call if_changed,cc_o_c)
$(objtree)/san/%.o: $(src)%.c FORCE | $(prepare-test) tools
	$(call if_changed,cc_o_c)
$(objtree)/fuzz/%.o: $(src)%.c FORCE | $(prepare-test) tools
	$(call if_changed,cc_o_c)

quiet_cmd_ar = AR      $(pretty-target)
      cmd_ar = rm -f $@ && $(AR) rcsD $@ $(real-prereqs)

# libtc.a (lib/), libtcos.a (os/) and libtcsim.a (sim/) of one variant; $(1) is
# "" or "san/" or "fuzz/".
define libs-of-variant
$(objtree)/$(1)lib/libtc.a: $(addprefix $(objtree)/$(1),$(objs-lib)) FORCE
	$$(call if_changed,ar)
$(objtree)/$(1)os/libtcos.a: $(addprefix $(objtree)/$(1),$(objs-os)) FORCE
	$$(call if_changed,ar)
$(objtree)/$(1)sim/libtcsim.a: $(addprefix $(objtree)/$(1),$(objs-sim)) FORCE
	$$(call if_changed,ar)
endef
$(eval $(call libs-of-variant,))
$(eval $(call libs-of-variant,san/))
$(eval $(call libs-of-variant,fuzz/))

# --- linking -----------------------------------------------------------------------
#
# A program's objects and libraries are its prerequisites, in link order.  At
# each link, scripts/gen-buildinfo writes the link time into a small object
# (tc_build_time); it is not part of the saved command line, so time alone
# never causes a relink.  treecast and treecast-agent also write
# <program>.linkset (our objects and archives, then the third-party ones) for
# scripts/check-symbols.

quiet_cmd_link = LD      $(pretty-target)
      cmd_link = $(src)scripts/gen-buildinfo $@-buildinfo.c && \
		$(cc-$(variant)) $(cflags-$(variant)) -c -o $@-buildinfo.o $@-buildinfo.c && \
		$(cc-$(variant)) $(ldflags-$(variant)) -o $@ $(filter-out %.a,$(real-prereqs)) \
		$@-buildinfo.o $(filter %.a,$(real-prereqs)) $(link-extra) && \
		rm -f $@-buildinfo.c $@-buildinfo.o $(if $(linkset),&& printf '%s %s\n' $(linkset) > $@.linkset)

# linkset lines: "ours FILE" or "third FILE" (only for the products).
linkset :=
linkset-of = $(foreach f,$(real-prereqs),$(if $(filter $(DEPS)/%,$(f)),third,ours) $(f))

libtc-main := $(objtree)/os/libtcos.a $(objtree)/lib/libtc.a

products :=
ifeq ($(CONFIG_SERVER),y)
products += $(objtree)/treecast
$(objtree)/treecast: $(addprefix $(objtree)/,$(objs-server)) $(objtree)/sim/libtcsim.a \
		$(libtc-main) $(deps-libs) FORCE
	$(call if_changed,link)
$(objtree)/treecast: link-extra := $(ldlibs-server) -lpthread
$(objtree)/treecast: linkset = $(linkset-of)
endif

ifeq ($(CONFIG_AGENT)$(if $(agent-defconfig),y),yy)
$(error CONFIG_AGENT=y builds the agent here, CONFIG_AGENT_DEFCONFIG in a sub-build: set one of them)
endif
ifeq ($(CONFIG_AGENT),y)
products += $(objtree)/treecast-agent
# lwIP calls back into agent/port/lwip (sys_now, tc_lwip_*): objects come first.
$(objtree)/treecast-agent: $(addprefix $(objtree)/,$(objs-agent)) $(libtc-main) \
		$(filter %/liblwip.a,$(deps-libs)) $(filter-out %/liblwip.a,$(deps-libs)) FORCE
	$(call if_changed,link)
$(objtree)/treecast-agent: linkset = $(linkset-of)
$(objtree)/treecast-agent: link-extra := $(ldlibs-agent)
else ifneq ($(agent-defconfig),)
# The agent of a host build comes from a sub-build with its own configuration
# (musl, static): this Makefile again, with O=$(O)/agent and the same deps.
products += $(objtree)/treecast-agent
agent-build := $(objtree)/agent
PHONY += agent-build
agent-build: $(DEPS)/src/.fetched | tools
	$(Q)$(MAKE) -f $(src)Makefile O=$(agent-build) DEPS=$(DEPS) \
		KBUILD_DEFCONFIG=$(agent-defconfig) TOP_OBJTREE=$(TOP_OBJTREE) all
$(agent-build)/treecast-agent: agent-build
	@:
quiet_cmd_copy = COPY    $(pretty-target)
      cmd_copy = cp -f $< $@
$(objtree)/treecast-agent: $(agent-build)/treecast-agent FORCE
	$(call if_changed,copy)
endif

# Unit tests: tests/unit/<name>.c + testlib-y + san libtcsim/libtc/libtcos + host deps + cmocka.
unit-progs := $(addprefix $(objtree)/tests/unit/,$(unit-tests))
libtc-san := $(objtree)/san/os/libtcos.a $(objtree)/san/lib/libtc.a
$(unit-progs): $(objtree)/tests/unit/%: $(objtree)/san/tests/unit/%.o $(addprefix $(objtree)/san/,$(testlib-tests/unit)) \
		$(objtree)/san/sim/libtcsim.a $(libtc-san) $(host-deps-libs) FORCE
	$(call if_changed,link)
$(unit-progs): variant := san
$(unit-progs): link-extra := -lcmocka -lpthread

# Fuzz targets (clang, libFuzzer) and their replay programs (gcc, ASan+UBSan).
fuzz-progs := $(addprefix $(objtree)/tests/fuzz/,$(fuzz-targets))
replay-progs := $(addsuffix -replay,$(fuzz-progs))
libtc-fuzz := $(objtree)/fuzz/os/libtcos.a $(objtree)/fuzz/lib/libtc.a
$(replay-progs): $(objtree)/tests/fuzz/%-replay: $(objtree)/san/tests/fuzz/%.o $(objtree)/san/tests/fuzz/replay_main.o \
		$(libtc-san) $(host-deps-libs) FORCE
	$(call if_changed,link)
$(fuzz-progs): $(objtree)/tests/fuzz/%: $(objtree)/fuzz/tests/fuzz/%.o $(libtc-fuzz) $(host-deps-libs) FORCE
	$(call if_changed,link)
$(replay-progs): variant := san
$(replay-progs): link-extra := -lpthread
$(fuzz-progs): variant := fuzz
$(fuzz-progs): link-extra := -lpthread

# Test tools of the namespace tests (tests/net/<name>.c: the rogue injector).
net-tools := $(addprefix $(objtree)/tests/net/,$(tools-tests/net))
$(net-tools): $(objtree)/tests/net/%: $(objtree)/tests/net/%.o $(libtc-main) $(deps-libs) FORCE
	$(call if_changed,link)
$(net-tools): link-extra := -lpthread

test-progs :=
ifeq ($(CONFIG_TESTS),y)
test-progs += $(unit-progs) $(net-tools)
endif
ifeq ($(CONFIG_FUZZ),y)
test-progs += $(fuzz-progs) $(replay-progs)
endif

# --- goals ---------------------------------------------------------------------------

PHONY += all tests test format help clean distclean
all: $(products)
	@:

tests: $(test-progs)
	@:
# (Once .config exists: on a fresh tree make first makes it, then starts again.)
ifneq ($(filter tests test,$(MAKECMDGOALS)),)
ifneq ($(wildcard $(objtree)/.config),)
ifneq ($(CONFIG_TESTS),y)
$(error make test needs a configuration with CONFIG_TESTS=y (make host_defconfig))
endif
endif
endif

# Suites of scripts/run-tests (all by default): unit cli fuzz symbols format agent net.
SUITES ?=
FUZZ_SECONDS ?= 15
test: all tests
	$(Q)$(src)scripts/run-tests --build $(objtree) --src $(srctree) \
		--unit "$(unit-tests)" --fuzz "$(if $(filter y,$(CONFIG_FUZZ)),$(fuzz-targets))" \
		--fuzz-seconds $(FUZZ_SECONDS) $(if $(SUITES),--suites "$(SUITES)")

format:
	$(Q)$(src)scripts/format --src $(srctree)

# make demo: the README's first command: a signed demo image sent by treecast
# serve to 8 agents in network namespaces (root), verified and torn down.
PHONY += demo
demo: all
	$(Q)TREECAST=$(objtree)/treecast AGENT=$(objtree)/treecast-agent $(src)bench/demo/run

# make soak: treecast sim over random seeds and scenarios for SOAK_SECONDS
# (default 600); prints every failing seed with its replay command.
PHONY += soak
SOAK_SECONDS ?= 600
soak: all
	$(Q)$(src)scripts/soak --treecast $(objtree)/treecast --seconds $(SOAK_SECONDS)

# clean: everything made here except the configuration and the third-party
# libraries; distclean: the whole build directory (with $(O)/deps; a DEPS
# elsewhere is left alone).  Only in a directory with the marker.
clean:
	$(Q)if [ -f $(build-marker) ]; then \
		find $(objtree) -mindepth 1 -maxdepth 1 ! -name .config ! -name deps \
			! -name .treecast-build -exec rm -rf {} +; \
	fi
distclean:
	$(Q)if [ -f $(build-marker) ]; then \
		find $(objtree) -mindepth 1 -maxdepth 1 -exec rm -rf {} + && \
		rmdir $(objtree); \
	fi

help:
	@echo 'treecast build (GNU make, Kbuild style)'
	@echo ''
	@echo 'Configuration:'
	@echo '  make host_defconfig    gcc: treecast (seeder and operator CLI), unit tests'
	@echo '                         (ASan+UBSan), fuzz targets (clang); the agent comes from'
	@echo '                         a sub-build with agent_defconfig (CONFIG_AGENT_DEFCONFIG)'
	@echo '  make agent_defconfig   musl-gcc, static: treecast-agent with lwIP only'
	@echo '  Either writes $$(O)/.config and $$(O)/include/generated/autoconf.h.  Without'
	@echo '  a .config, make uses host_defconfig; a .config made from a defconfig is made'
	@echo '  again when that defconfig changes (hand edits are then replaced).'
	@echo ''
	@echo 'Options (CONFIG_X=y, ="text" or =number in configs/*_defconfig):'
	@echo '  CONFIG_CC              compiler for our code (and for non-host third-party builds)'
	@echo '  CONFIG_DEPS_VARIANT    third-party build to use: $$(DEPS)/host (gcc) or musl'
	@echo '  CONFIG_MUSL            musl-gcc: add the kernel UAPI headers (linux/, asm/)'
	@echo '  CONFIG_STATIC          link programs with -static'
	@echo '  CONFIG_SANITIZE        build the configured programs with ASan+UBSan too'
	@echo '  CONFIG_SERVER          build $$(O)/treecast from server/'
	@echo '  CONFIG_AGENT           build $$(O)/treecast-agent from agent/ in this build'
	@echo '  CONFIG_AGENT_DEFCONFIG build the agent in a sub-build ($$(O)/agent) with this'
	@echo '                         defconfig and copy it to $$(O)/treecast-agent'
	@echo '  CONFIG_LWIP            build lwIP (agent/port/lwip) and link it into the agent'
	@echo '  CONFIG_TESTS           unit tests ($$(O)/san: ASan+UBSan) and make test'
	@echo '  CONFIG_FUZZ            libFuzzer targets ($$(O)/fuzz, clang) and their replays'
	@echo '  Objects choose by option in Kbuild files: obj-$$(CONFIG_X) += x.o; code sees'
	@echo '  CONFIG_X through autoconf.h, which every object of ours includes first.'
	@echo ''
	@echo 'Targets:'
	@echo '  all (default)  $$(O)/treecast and $$(O)/treecast-agent; for the host config the'
	@echo '                 agent is built in $$(O)/agent by a sub-make and copied to'
	@echo '                 $$(O)/treecast-agent'
	@echo '  tests          unit test programs ($$(O)/tests/unit/NAME), fuzz targets and'
	@echo '                 their gcc replay programs ($$(O)/tests/fuzz/NAME[-replay]) and'
	@echo '                 the namespace tests'"'"' tools ($$(O)/tests/net/NAME)'
	@echo '  test           all + tests, then scripts/run-tests: suites unit, cli, fuzz,'
	@echo '                 symbols, format, agent, net (namespaces, as root); ends with'
	@echo '                 "N passed, N failed"'
	@echo '  demo           all, then bench/demo/run (root): treecast serve sends a signed'
	@echo '                 demo image to 8 agents in network namespaces, checks every'
	@echo '                 node'"'"'s bytes, tears down, prints time and ratio to the floor'
	@echo '  format         reformat our .c/.h files with clang-format (.clang-format)'
	@echo '  soak           all, then scripts/soak: `treecast sim` over random seeds, losses,'
	@echo '                 late joiners, held chunks and the forger for SOAK_SECONDS'
	@echo '                 (default 600); prints each failing seed and its replay command'
	@echo '  clean          remove objects and programs; keep .config and $$(O)/deps'
	@echo '  distclean      remove the whole build directory, third-party builds included'
	@echo '  help           this text'
	@echo '  Building runs scripts/setup --if-missing (installs missing Debian packages as'
	@echo '  root) and, when $$(DEPS) lacks them, scripts/fetch-deps (Debian source packages'
	@echo '  of lwIP, mbedTLS, zlib, pinned in scripts/deps.lock; log: $$(DEPS)/versions.log).'
	@echo ''
	@echo 'Variables:'
	@echo '  O=DIR            build directory (default: build)'
	@echo '  V=1              print whole commands'
	@echo '  DEPS=DIR         third-party libraries (default: $$(O)/deps)'
	@echo '  EXTRA_CFLAGS=..  more compiler flags for our code (changes rebuild)'
	@echo '  EXTRA_LDFLAGS=.. more link flags'
	@echo '  SUITES="unit cli"  make test: run only these suites'
	@echo '  FUZZ_SECONDS=N   make test: libFuzzer run per target (default 15)'
	@echo ''
	@echo 'Conventions (each directory has a Kbuild file):'
	@echo '  lib/, os/, server/, agent/   obj-y += x.o, obj-$$(CONFIG_X) += x.o, ccflags-y += ...'
	@echo '                               (server/, agent/: ldlibs-y += -lm)'
	@echo '                               lib/ -> libtc.a, os/ -> libtcos.a, server/ -> treecast,'
	@echo '                               agent/ -> treecast-agent'
	@echo '  sim/                         obj-y += x.o: libtcsim.a, linked into treecast and'
	@echo '                               every unit test'
	@echo '  tests/unit/Kbuild            test-y += NAME (tests/unit/NAME.c, cmocka),'
	@echo '                               testlib-y += x.o (linked into every unit test)'
	@echo '  tests/fuzz/Kbuild            fuzz-y += NAME (tests/fuzz/NAME.c defines'
	@echo '                               LLVMFuzzerTestOneInput); seeds in tests/fuzz/corpus/NAME/'
	@echo '  tests/cli/*.sh               one test each, run with TREECAST, AGENT, BUILD, SRC set'
	@echo '                               and a fresh empty working directory; exit 0 = pass'

# Saved command lines and dependency files of everything this make may build.
all-objs := $(addprefix $(objtree)/,$(objs-lib) $(objs-os) $(objs-sim) $(objs-server) $(objs-agent)) \
	$(addprefix $(objtree)/san/,$(objs-lib) $(objs-os) $(objs-sim) $(testlib-tests/unit) \
		$(addprefix tests/unit/,$(addsuffix .o,$(unit-tests))) \
		$(addprefix tests/fuzz/,$(addsuffix .o,$(fuzz-targets) replay_main))) \
	$(addprefix $(objtree)/fuzz/,$(objs-lib) $(objs-os) \
		$(addprefix tests/fuzz/,$(addsuffix .o,$(fuzz-targets))))
all-files := $(all-objs) $(products) $(unit-progs) $(fuzz-progs) $(replay-progs) \
	$(addprefix $(objtree)/,lib/libtc.a os/libtcos.a sim/libtcsim.a san/lib/libtc.a \
		san/os/libtcos.a san/sim/libtcsim.a \
		fuzz/lib/libtc.a fuzz/os/libtcos.a) \
	$(DEPS)/host/lib/libmbedcrypto.a $(DEPS)/host/lib/libz.a \
	$(DEPS)/musl/lib/libmbedcrypto.a $(DEPS)/musl/lib/libz.a $(DEPS)/musl/lib/liblwip.a
-include $(foreach f,$(all-files),$(dir $(f)).$(notdir $(f)).cmd)
-include $(all-objs:.o=.d)

endif # one-by-one

.PHONY: $(PHONY)
