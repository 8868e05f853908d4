# SPDX-License-Identifier: ISC
# Fuzz targets, one per parser (included by Makefile.am; paths are
# relative to the top directory).  Each target defines
# LLVMFuzzerTestOneInput; linked with t/fuzz/driver.c it is a program that
# make check runs over its seed corpus and a fixed number of mutations
# (t/fuzz/run.sh).  make fuzz builds the same targets with clang's
# libFuzzer and sanitizers and runs each for FUZZ_SECONDS seconds
# (t/fuzz/libfuzzer.sh; Debian packages clang-14 and libclang-rt-14-dev).

FUZZ_COMMON = t/fuzz/driver.c t/fuzz/fuzz_util.c t/fuzz/fuzz.h

check_PROGRAMS += t/fuzz/fuzz_conf t/fuzz/fuzz_uri t/fuzz/fuzz_hello \
	t/fuzz/fuzz_server_hello t/fuzz/fuzz_record t/fuzz/fuzz_request \
	t/fuzz/fuzz_tab t/fuzz/fuzz_overlay_map t/fuzz/fuzz_hello3 \
	t/fuzz/fuzz_nbd
t_fuzz_fuzz_conf_SOURCES = t/fuzz/fuzz_conf.c $(FUZZ_COMMON)
t_fuzz_fuzz_uri_SOURCES = t/fuzz/fuzz_uri.c $(FUZZ_COMMON)
t_fuzz_fuzz_hello_SOURCES = t/fuzz/fuzz_hello.c $(FUZZ_COMMON)
t_fuzz_fuzz_hello3_SOURCES = t/fuzz/fuzz_hello3.c $(FUZZ_COMMON)
t_fuzz_fuzz_server_hello_SOURCES = t/fuzz/fuzz_server_hello.c $(FUZZ_COMMON)
t_fuzz_fuzz_record_SOURCES = t/fuzz/fuzz_record.c $(FUZZ_COMMON)
t_fuzz_fuzz_request_SOURCES = t/fuzz/fuzz_request.c $(FUZZ_COMMON)
t_fuzz_fuzz_tab_SOURCES = t/fuzz/fuzz_tab.c $(FUZZ_COMMON)
t_fuzz_fuzz_nbd_SOURCES = t/fuzz/fuzz_nbd.c $(FUZZ_COMMON)
# The overlay file's loader is a daemon unit.
t_fuzz_fuzz_overlay_map_SOURCES = t/fuzz/fuzz_overlay_map.c $(FUZZ_COMMON)
t_fuzz_fuzz_overlay_map_CPPFLAGS = $(NETDISKD_CPPFLAGS)
t_fuzz_fuzz_overlay_map_LDADD = $(NETDISKD_LDADD)

TESTS += t/fuzz/run.sh

EXTRA_DIST += t/fuzz/run.sh t/fuzz/libfuzzer.sh t/fuzz/corpus \
	t/fuzz/fuzz_conf.dict t/fuzz/fuzz_uri.dict t/fuzz/fuzz_tab.dict

CLEANFILES += t/fuzz/crash-*

FUZZ_SECONDS = 60
FUZZ_TARGETS = fuzz_conf fuzz_uri fuzz_hello fuzz_hello3 \
	fuzz_server_hello fuzz_record fuzz_request fuzz_tab fuzz_overlay_map \
	fuzz_nbd

fuzz:
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	FUZZ_SECONDS='$(FUZZ_SECONDS)' FUZZ_TARGETS='$(FUZZ_TARGETS)' \
	INIH_CFLAGS='$(INIH_CFLAGS)' INIH_LIBS='$(INIH_LIBS)' \
	LIBBSD_CFLAGS='$(LIBBSD_CFLAGS)' LIBBSD_LIBS='$(LIBBSD_LIBS)' \
	MBEDTLS_LIBS='$(MBEDTLS_LIBS)' \
	LIBCRYPTO_CFLAGS='$(LIBCRYPTO_CFLAGS)' LIBCRYPTO_LIBS='$(LIBCRYPTO_LIBS)' \
	$(SHELL) $(srcdir)/t/fuzz/libfuzzer.sh

# The seeds the targets build themselves, into the source tree's corpus.
fuzz-seeds: t/fuzz/fuzz_hello$(EXEEXT) t/fuzz/fuzz_hello3$(EXEEXT) \
	t/fuzz/fuzz_server_hello$(EXEEXT) \
	t/fuzz/fuzz_record$(EXEEXT) t/fuzz/fuzz_request$(EXEEXT) \
	t/fuzz/fuzz_overlay_map$(EXEEXT) t/fuzz/fuzz_nbd$(EXEEXT)
	for t in fuzz_hello fuzz_hello3 fuzz_server_hello fuzz_record \
	    fuzz_request \
	    fuzz_overlay_map fuzz_nbd; do \
	    t/fuzz/$$t --write-seeds $(srcdir)/t/fuzz/corpus/$$t || exit 1; \
	done

clean-local: clean-fuzz
clean-fuzz:
	rm -rf t/fuzz/lf

.PHONY: fuzz fuzz-seeds clean-fuzz
