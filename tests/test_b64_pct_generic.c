/*
 * test_b64_pct_generic: test_b64_pct run against the portable block path of
 * the fused decoder (GNU C vector types, as on non-x86 targets): fcgi/b64.c
 * is compiled into this test with B64_GENERIC_ONLY, which leaves out the
 * SSSE3 steps that test_b64_pct reaches on an x86 machine. Same oracle, same
 * cases, same verdict.
 */
#define B64_GENERIC_ONLY 1
#include "fcgi/b64.c"

#include "test_b64_pct.c"
