// zstd, used only by the compression kernels of the segment formats.
#include <zstd.h>
