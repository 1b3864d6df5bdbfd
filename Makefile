# luavat — plain GNU make plus pkg-config.
#
#   make                         build/luavat and build/libluavat.a
#   make test                    every test; ends with "N passed, N failed"
#   make SANITIZE=address,undefined test   the same under ASan + UBSan
#   make valgrind                every test under valgrind, in build/valgrind
#   make bench                   benchmarks (figures, not tests)
#   make lint / format / format-check
-include config.mk

PKGS      := lua5.4 lmdb libuv
comma     := ,
# V=1 shows every command.
Q         := $(if $(V),,@)
CC        ?= cc
PKGCONFIG ?= pkg-config

# make valgrind builds in a folder of its own, where the slabs give every
# block to the C library (LVAT_SLAB_PASSTHROUGH, as under ASan): inside a
# slab's arena valgrind would see no block's bounds or lifetime.
VALGRIND_BUILD := $(if $(filter valgrind,$(MAKECMDGOALS)),1)
SLABFLAGS := $(if $(VALGRIND_BUILD),-DLVAT_SLAB_PASSTHROUGH)

ifeq ($(SANITIZE),)
BUILD     := $(if $(VALGRIND_BUILD),build/valgrind,build)
# -O3: 2.9-3.2% fewer instructions than -O2 for a round trip or a
# pipelined send (callgrind, bench/ping -n 20000), 0.8% for a launch.
OPT       ?= -O3 -g -fno-plt
SANFLAGS  :=
LTO       ?= -flto=auto
else
BUILD     := build/san-$(subst $(comma),-,$(SANITIZE))
OPT       := -O1 -g
SANFLAGS  := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

WARN := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wwrite-strings -Wvla -Wformat=2 -Wundef \
        -fno-common -Werror
PKG_CFLAGS := $(shell $(PKGCONFIG) --cflags $(PKGS))
PKG_LIBS   := $(shell $(PKGCONFIG) --libs $(PKGS))
TEST_CFLAGS := $(shell $(PKGCONFIG) --cflags cmocka 2>/dev/null)
TEST_LIBS   := $(shell $(PKGCONFIG) --libs cmocka 2>/dev/null)

CPPFLAGS += -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(SLABFLAGS) -Ihost -Ibindings -I$(BUILD)/gen
CFLAGS   += $(OPT) $(WARN) $(SANFLAGS) $(PKG_CFLAGS) -MMD -MP
LDFLAGS  += $(SANFLAGS)
LDLIBS   += $(PKG_LIBS) -lpthread -lm

HOST_SRC := $(filter-out host/cli/%,$(wildcard host/*.c))
BIND_SRC := $(wildcard bindings/*.c)
CLI_SRC  := $(wildcard host/cli/*.c)
LUA_SRC  := $(sort $(wildcard lua/luavat/*.lua))
GEN_SRC  := $(BUILD)/gen/lua_runtime.c
LUA_STRIP ?= --strip

LIB_OBJ  := $(HOST_SRC:%.c=$(BUILD)/obj/%.o) $(BIND_SRC:%.c=$(BUILD)/obj/%.o) \
            $(BUILD)/obj/gen/lua_runtime.o
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)

SUPPORT_SRC := $(wildcard tests/support/*.c)
SUPPORT_OBJ := $(SUPPORT_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/unit/test_*.c tests/binding/test_*.c tests/e2e/test_*.c)
TEST_BIN := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(TEST_SRC)))
TEST_HELPERS_SRC := $(wildcard tests/helpers/*.c)
TEST_HELPERS := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(TEST_HELPERS_SRC)))
# Every bench/*.c is a program, except the helpers they all link.
BENCH_UTIL := bench/bench_util.c
BENCH_SRC := $(filter-out $(BENCH_UTIL),$(wildcard bench/*.c))
BENCH_BIN := $(patsubst %.c,$(BUILD)/bench/%,$(notdir $(BENCH_SRC)))
BENCH_UTIL_OBJ := $(BENCH_UTIL:%.c=$(BUILD)/obj/%.o)

.PHONY: all test valgrind bench bench-peers lint format format-check clean FORCE
all: $(BUILD)/luavat $(BUILD)/libluavat.a

# Link-time optimisation (GCC; LTO= turns it off): the library's objects
# hold GCC's IR as well as code, so a program linked with -flto (the CLI,
# the benchmarks) has the library's files optimised together (calls
# between them inline; about 6% fewer instructions per message).  GCC
# does that at any link of these objects unless told -fno-lto, as the
# tests are (they link the plain code, and build fast).
$(LIB_OBJ): CFLAGS += $(if $(LTO),$(LTO) -ffat-lto-objects)
LTO_LINK := $(if $(LTO),$(OPT) $(LTO))
NO_LTO   := $(if $(LTO),-fno-lto)
GCC_AR   ?= gcc-ar

$(BUILD)/libluavat.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(if $(LTO),$(GCC_AR),$(AR)) rcs $@ $^

# Rewritten only when the compile flags change, so that changing OPT, LTO,
# SANITIZE or the slabs' passthrough rebuilds every object instead of
# mixing old and new ones.
FLAGS := $(CC) $(OPT) $(LTO) $(SANFLAGS) $(SLABFLAGS)
FLAGS_STAMP := $(BUILD)/flags.txt
$(FLAGS_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(FLAGS)' | cmp -s - $@ || echo '$(FLAGS)' > $@

$(BUILD)/luavat: $(CLI_OBJ) $(BUILD)/libluavat.a
	$(CC) $(LDFLAGS) $(LTO_LINK) -o $@ $(CLI_OBJ) $(BUILD)/libluavat.a $(LDLIBS)

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The vat runtime in lua/ is compiled to stripped bytecode at build time and
# embedded; the tool is built without sanitizers (it only runs here).
$(BUILD)/tools/luaembed: tools/luaembed.c
	@mkdir -p $(@D)
	$(CC) -O1 -g $(WARN) $(PKG_CFLAGS) -o $@ $< $(shell $(PKGCONFIG) --libs lua5.4)

# Rewritten only when LUA_STRIP changes, so that changing it (an unstripped
# runtime for profiling) rebuilds the embedded runtime, and nothing else does.
STRIP_STAMP := $(BUILD)/gen/lua_strip.txt
$(STRIP_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(LUA_STRIP)' | cmp -s - $@ || echo '$(LUA_STRIP)' > $@

$(GEN_SRC): $(BUILD)/tools/luaembed $(LUA_SRC) $(STRIP_STAMP)
	@mkdir -p $(@D)
	$(BUILD)/tools/luaembed $(LUA_STRIP) $@ $(LUA_SRC)

# ---- tests ----
$(BUILD)/obj/tests/%.o: CFLAGS += $(TEST_CFLAGS) -Itests/support
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(SUPPORT_OBJ) $(BUILD)/libluavat.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(NO_LTO) -o $@ $< $(SUPPORT_OBJ) $(BUILD)/libluavat.a $(LDLIBS) $(TEST_LIBS)
$(BUILD)/tests/%: $(BUILD)/obj/tests/binding/%.o $(SUPPORT_OBJ) $(BUILD)/libluavat.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(NO_LTO) -o $@ $< $(SUPPORT_OBJ) $(BUILD)/libluavat.a $(LDLIBS) $(TEST_LIBS)
$(BUILD)/tests/%: $(BUILD)/obj/tests/e2e/%.o $(SUPPORT_OBJ) $(BUILD)/libluavat.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(NO_LTO) -o $@ $< $(SUPPORT_OBJ) $(BUILD)/libluavat.a $(LDLIBS) $(TEST_LIBS)
$(BUILD)/tests/%: $(BUILD)/obj/tests/helpers/%.o $(SUPPORT_OBJ) $(BUILD)/libluavat.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(NO_LTO) -o $@ $< $(SUPPORT_OBJ) $(BUILD)/libluavat.a $(LDLIBS) $(TEST_LIBS)

# The bench smoke test runs the bench programs with tiny sizes.
test: $(BUILD)/luavat $(TEST_BIN) $(TEST_HELPERS) $(BENCH_BIN)
	@sh tests/support/run_tests.sh $(BUILD) $(TEST_BIN)

valgrind: $(BUILD)/luavat $(TEST_BIN) $(TEST_HELPERS) $(BENCH_BIN)
	@LUAVAT_VALGRIND=1 sh tests/support/run_tests.sh $(BUILD) $(TEST_BIN)

# ---- benchmarks ----
# make bench: one table of figures (also $(BUILD)/bench.json); sizes and
# repetitions come from BENCH_* variables (see bench/run.sh).
# make bench-peers: luavat's message and launch workloads beside the same
# workloads on the peer kernels (bench/peers/run.sh), with ratios.
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BENCH_UTIL_OBJ) $(BUILD)/libluavat.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(LTO_LINK) -o $@ $< $(BENCH_UTIL_OBJ) $(BUILD)/libluavat.a $(LDLIBS)

bench: $(BUILD)/luavat $(BENCH_BIN)
	@sh bench/run.sh $(BUILD)

bench-peers: $(BENCH_BIN)
	@sh bench/run-peers.sh $(BUILD)

# ---- hygiene ----
lint:
	@sh tools/lint.sh

format:
	clang-format -i $(HOST_SRC) $(CLI_SRC) $(BIND_SRC) host/*.h bindings/*.h

format-check:
	clang-format --dry-run -Werror $(HOST_SRC) $(CLI_SRC) $(BIND_SRC) host/*.h bindings/*.h

clean:
	rm -rf build

.SECONDARY:
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
