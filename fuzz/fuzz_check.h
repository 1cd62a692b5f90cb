/* fuzz_check — what every fuzz target shares: CHECK(c) aborts when a
 * property that must hold does not, so libFuzzer (and the corpus replay
 * under ctest) reports the input as a crash. */
#ifndef RG_FUZZ_CHECK_H
#define RG_FUZZ_CHECK_H

#include <stdlib.h>

#define CHECK(c)          \
    do {                  \
        if (!(c))         \
            abort();      \
    } while (0)

#endif
