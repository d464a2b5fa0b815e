// jemalloc. Linking it makes it the process-wide allocator (Debian builds it without a
// symbol prefix), so only executables link it; mallctl gives allocator statistics.
#include <jemalloc/jemalloc.h>
