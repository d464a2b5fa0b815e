// C kernels for instructions Swift cannot reach directly. Compiled for x86-64-v3 like the Swift
// kernels; binaries check the CPU at start (CKymaCPU).
#ifndef KYMA_KERNELS_H
#define KYMA_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/// CRC-32C of `length` bytes continuing from `crc` (pass 0 to start), with the SSE4.2 crc32
/// instruction (three chains over adjacent blocks from 768 bytes on, joined with shift tables
/// built once). Returns the same values as the table-driven CRC32C in KymaKernels.
uint32_t kyma_crc32c_hw(uint32_t crc, const uint8_t *bytes, size_t length);

/// The same with one chain of crc32 instructions (what kyma_crc32c_hw does below 768 bytes and
/// for the tail): the baseline its benchmark and tests compare against.
uint32_t kyma_crc32c_hw_one_chain(uint32_t crc, const uint8_t *bytes, size_t length);

/// 1 when kyma_crc32c_hw runs on this build (x86_64), 0 otherwise.
int kyma_crc32c_hw_available(void);

/// The first position at or after `from` in `bytes[0..<length]` holding a JSON string's
/// special byte: a quote, a backslash or a control character (< 0x20); `length` when there is
/// none. Sets `*non_ascii` to 1 when a byte >= 0x80 lies before that position (it is left
/// alone otherwise). 32 bytes per step with AVX2; byte by byte elsewhere.
size_t kyma_json_string_stop(const uint8_t *bytes, size_t from, size_t length, int *non_ascii);

/// SHA-256 of whole 64-byte blocks into `state` (the caller pads the last block): with the SHA
/// extensions when the CPU has them (kyma_sha256_ni_available), else kyma_sha256_blocks_scalar.
void kyma_sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);
/// The same rounds in scalar C: the reference the extension path is tested against.
void kyma_sha256_blocks_scalar(uint32_t state[8], const uint8_t *data, size_t blocks);
/// 1 when the CPU has the SHA extensions (x86_64 CPUID leaf 7, EBX bit 29), 0 otherwise.
int kyma_sha256_ni_available(void);
/// MD5 of whole 64-byte blocks into `state` (the caller pads the last block).
void kyma_md5_blocks(uint32_t state[4], const uint8_t *data, size_t blocks);

/// Asks the CPU to bring the cache line at `address` into all cache levels (a hint; no fault on
/// any address). HNSW search prefetches the next neighbour's vector while it scores this one.
static inline void kyma_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
#endif
