// jemalloc's options for the executables that link it (kyma, k2i).
#ifndef KYMA_ALLOCATOR_H
#define KYMA_ALLOCATOR_H
/// The options compiled into the executable (jemalloc's `malloc_conf`); MALLOC_CONF in the
/// environment still overrides them.
const char *kyma_allocator_options(void);
#endif
