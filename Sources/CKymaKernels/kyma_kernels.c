#include "kyma_kernels.h"
#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

// The crc32 instruction has a latency of three cycles and a throughput of one per cycle, so one
// dependent chain uses a third of it. Long inputs run three chains over three adjacent blocks at
// once; the three partial CRCs are joined by "shifting" the earlier ones over the later blocks'
// lengths: CRC is linear, so the register after A then B is shift(reg(A), |B|) ^ reg(B from 0),
// where shift(r, n) multiplies r by x^(8n) modulo the polynomial. For a fixed n that is a linear
// map of the 32-bit register, applied here with four 256-entry tables (one per register byte)
// built once from the map's matrix.

enum { CRC_LONG = 8192, CRC_SHORT = 256 };
static uint32_t crc_shift_long[4][256], crc_shift_short[4][256];
static pthread_once_t crc_tables_once = PTHREAD_ONCE_INIT;

// A 32x32 matrix over GF(2) as 32 columns: column i is the image of bit i.
static uint32_t gf2_apply(const uint32_t *matrix, uint32_t vector) {
    uint32_t out = 0;
    for (int i = 0; vector; i++, vector >>= 1) if (vector & 1) out ^= matrix[i];
    return out;
}

static void gf2_compose(uint32_t *out, const uint32_t *a, const uint32_t *b) {  // out = a after b
    for (int i = 0; i < 32; i++) out[i] = gf2_apply(a, b[i]);
}

// The tables of shift(r, bytes): the map "one zero bit" (the reflected polynomial 0x82F63B78)
// raised to the power 8 * bytes by repeated squaring.
static void crc_shift_tables(uint32_t tables[4][256], size_t bytes) {
    uint32_t power[32], result[32], scratch[32];
    power[0] = 0x82F63B78u;  // bit 0 shifted out: the polynomial comes back in
    for (int i = 1; i < 32; i++) power[i] = 1u << (i - 1);
    for (int i = 0; i < 32; i++) result[i] = 1u << i;  // identity
    for (size_t n = bytes * 8; n; n >>= 1) {
        if (n & 1) {
            gf2_compose(scratch, power, result);
            memcpy(result, scratch, sizeof result);
        }
        gf2_compose(scratch, power, power);
        memcpy(power, scratch, sizeof power);
    }
    for (uint32_t v = 0; v < 256; v++)
        for (int k = 0; k < 4; k++) tables[k][v] = gf2_apply(result, v << (8 * k));
}

static void crc_tables_init(void) {
    crc_shift_tables(crc_shift_long, CRC_LONG);
    crc_shift_tables(crc_shift_short, CRC_SHORT);
}

static inline uint64_t crc_shift(uint32_t tables[4][256], uint64_t reg) {
    return tables[0][reg & 0xFF] ^ tables[1][(reg >> 8) & 0xFF] ^ tables[2][(reg >> 16) & 0xFF] ^ tables[3][(reg >> 24) & 0xFF];
}

static inline uint64_t load64(const uint8_t *p) {
    uint64_t word;
    memcpy(&word, p, 8);  // unaligned load
    return word;
}

// Three chains over blocks of `block` bytes while 3 * block bytes remain.
static inline uint64_t crc_three_ways(uint64_t c0, const uint8_t **at, size_t *left, size_t block, uint32_t tables[4][256]) {
    while (*left >= 3 * block) {
        const uint8_t *p = *at;
        uint64_t c1 = 0, c2 = 0;
        for (size_t i = 0; i < block; i += 8) {
            c0 = _mm_crc32_u64(c0, load64(p + i));
            c1 = _mm_crc32_u64(c1, load64(p + block + i));
            c2 = _mm_crc32_u64(c2, load64(p + 2 * block + i));
        }
        c0 = crc_shift(tables, c0) ^ c1;
        c0 = crc_shift(tables, c0) ^ c2;
        *at = p + 3 * block;
        *left -= 3 * block;
    }
    return c0;
}

// One chain over `length` bytes, continuing the raw register `c` (not inverted).
static inline uint32_t crc_one_chain(uint64_t c, const uint8_t *bytes, size_t length) {
    size_t i = 0;
    for (; i + 8 <= length; i += 8) c = _mm_crc32_u64(c, load64(bytes + i));
    uint32_t c32 = (uint32_t)c;
    for (; i < length; i++) c32 = _mm_crc32_u8(c32, bytes[i]);
    return c32;
}

uint32_t kyma_crc32c_hw(uint32_t crc, const uint8_t *bytes, size_t length) {
    uint64_t c = (uint32_t)~crc;
    if (length >= 3 * CRC_SHORT) {
        pthread_once(&crc_tables_once, crc_tables_init);
        c = crc_three_ways(c, &bytes, &length, CRC_LONG, crc_shift_long);
        c = crc_three_ways(c, &bytes, &length, CRC_SHORT, crc_shift_short);
    }
    return ~crc_one_chain(c, bytes, length);
}

uint32_t kyma_crc32c_hw_one_chain(uint32_t crc, const uint8_t *bytes, size_t length) {
    return ~crc_one_chain((uint32_t)~crc, bytes, length);
}

int kyma_crc32c_hw_available(void) { return 1; }
#else
uint32_t kyma_crc32c_hw(uint32_t crc, const uint8_t *bytes, size_t length) { (void)bytes; (void)length; return crc; }
uint32_t kyma_crc32c_hw_one_chain(uint32_t crc, const uint8_t *bytes, size_t length) { (void)bytes; (void)length; return crc; }
int kyma_crc32c_hw_available(void) { return 0; }
#endif

#if defined(__AVX2__)
#include <immintrin.h>
#endif

size_t kyma_json_string_stop(const uint8_t *bytes, size_t from, size_t length, int *non_ascii) {
    size_t i = from;
#if defined(__AVX2__)
    const __m256i quote = _mm256_set1_epi8('"'), slash = _mm256_set1_epi8('\\'), below = _mm256_set1_epi8(0x1F);
    while (i + 32 <= length) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(bytes + i));
        // v <= 0x1F unsigned: max(v, 0x1F) == 0x1F.
        __m256i control = _mm256_cmpeq_epi8(_mm256_max_epu8(v, below), below);
        __m256i special = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, slash)), control);
        uint32_t stops = (uint32_t)_mm256_movemask_epi8(special);
        uint32_t high = (uint32_t)_mm256_movemask_epi8(v);
        if (stops) {
            unsigned at = (unsigned)__builtin_ctz(stops);
            if (high & ((1u << at) - 1u)) *non_ascii = 1;
            return i + at;
        }
        if (high) *non_ascii = 1;
        i += 32;
    }
#endif
    for (; i < length; i++) {
        uint8_t b = bytes[i];
        if (b == '"' || b == '\\' || b < 0x20) return i;
        if (b >= 0x80) *non_ascii = 1;
    }
    return length;
}
