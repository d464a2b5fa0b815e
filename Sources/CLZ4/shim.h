// lz4, used only by the compression kernels of the segment formats.
#include <lz4.h>
#include <lz4hc.h>
