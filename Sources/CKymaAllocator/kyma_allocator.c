// jemalloc reads the application's `malloc_conf` string at start-up (the library's own is weak).
//
// oversize_threshold:0: jemalloc otherwise serves every allocation of 8 MiB or more from a
// dedicated arena that returns freed pages to the kernel at once. k2i and the server allocate
// and free buffers of that size at every flush (column data, Parquet files), so each flush
// faulted its pages in afresh: 80,000 page faults for 256 MB ingested, 30,000 without the
// dedicated arena (reports/k2i.md). Freed pages still go back after the usual 10 s decay.
#include "kyma_allocator.h"

const char *malloc_conf = "oversize_threshold:0";

const char *kyma_allocator_options(void) { return malloc_conf; }
