// zlib, used only by KymaCompression (raw deflate: Avro's "deflate" codec in Iceberg manifests).
#include <zlib.h>
