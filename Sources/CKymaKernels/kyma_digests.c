// Message digests over whole 64-byte blocks (the caller pads the tail): SHA-256 with the SHA
// extensions (sha256rnds2, sha256msg1/2; 4 rounds per two instructions) when the CPU has them,
// else the same rounds in scalar C; MD5 in scalar C (no instructions help it). S3 hashes every
// signed payload with SHA-256 and every object with MD5 (its ETag): at Swift's scalar speed they
// were 55% of a 64 MB PUT's server time.
#include "kyma_kernels.h"

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

void kyma_sha256_blocks_scalar(uint32_t state[8], const uint8_t *data, size_t blocks) {
    uint32_t w[64];
    for (; blocks; blocks--, data += 64) {
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)data[4 * i] << 24 | (uint32_t)data[4 * i + 1] << 16 | (uint32_t)data[4 * i + 2] << 8 | data[4 * i + 3];
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
            uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        state[0] += a; state[1] += b; state[2] += c; state[3] += d; state[4] += e; state[5] += f; state[6] += g; state[7] += h;
    }
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

// Sixteen groups of four rounds. The four message registers roll: group g uses w[g % 4]; from
// group 1 on, sha256msg1 starts the schedule of the group four ahead, and from group 3 on,
// alignr + add + sha256msg2 finish the next group's words (Intel's SHA extensions paper, 2013).
__attribute__((target("sha,sse4.1,ssse3")))
static void sha256_blocks_ni(uint32_t state[8], const uint8_t *data, size_t blocks) {
    const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xB1);  // CDAB
    __m128i state1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1B);  // EFGH
    __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);   // ABEF
    state1 = _mm_blend_epi16(state1, tmp, 0xF0);        // CDGH
    for (; blocks; blocks--, data += 64) {
        __m128i abef = state0, cdgh = state1, w[4], message;
        for (int g = 0; g < 16; g++) {
            if (g < 4) w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * g)), byteswap);
            message = _mm_add_epi32(w[g & 3], _mm_loadu_si128((const __m128i *)&sha256_k[4 * g]));
            state1 = _mm_sha256rnds2_epu32(state1, state0, message);
            if (g >= 3 && g < 15) {
                __m128i aligned = _mm_alignr_epi8(w[g & 3], w[(g + 3) & 3], 4);
                w[(g + 1) & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(w[(g + 1) & 3], aligned), w[g & 3]);
            }
            message = _mm_shuffle_epi32(message, 0x0E);
            state0 = _mm_sha256rnds2_epu32(state0, state1, message);
            if (g >= 1 && g < 13) w[(g + 3) & 3] = _mm_sha256msg1_epu32(w[(g + 3) & 3], w[g & 3]);
        }
        state0 = _mm_add_epi32(state0, abef);
        state1 = _mm_add_epi32(state1, cdgh);
    }
    tmp = _mm_shuffle_epi32(state0, 0x1B);      // FEBA
    state1 = _mm_shuffle_epi32(state1, 0xB1);   // DCHG
    state0 = _mm_blend_epi16(tmp, state1, 0xF0);  // DCBA
    state1 = _mm_alignr_epi8(state1, tmp, 8);   // ABEF
    _mm_storeu_si128((__m128i *)&state[0], state0);
    _mm_storeu_si128((__m128i *)&state[4], state1);
}

int kyma_sha256_ni_available(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 29) & 1;
}

void kyma_sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks) {
    static int available = -1;
    if (available < 0) available = kyma_sha256_ni_available();
    if (available) sha256_blocks_ni(state, data, blocks); else kyma_sha256_blocks_scalar(state, data, blocks);
}
#else
int kyma_sha256_ni_available(void) { return 0; }
void kyma_sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks) { kyma_sha256_blocks_scalar(state, data, blocks); }
#endif

// MD5 (RFC 1321): four rounds of sixteen steps, each round with its own function, order of the
// message words and shifts.
static const uint32_t md5_k[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

#define MD5_STEP(f, a, b, c, d, x, k, s) \
    a += f(b, c, d) + (x) + (k);         \
    a = ((a << (s)) | (a >> (32 - (s)))) + (b);
#define MD5_F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MD5_G(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define MD5_H(x, y, z) ((x) ^ (y) ^ (z))
#define MD5_I(x, y, z) ((y) ^ ((x) | ~(z)))

void kyma_md5_blocks(uint32_t state[4], const uint8_t *data, size_t blocks) {
    for (; blocks; blocks--, data += 64) {
        uint32_t m[16];
        for (int i = 0; i < 16; i++)
            m[i] = (uint32_t)data[4 * i] | (uint32_t)data[4 * i + 1] << 8 | (uint32_t)data[4 * i + 2] << 16 | (uint32_t)data[4 * i + 3] << 24;
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        for (int i = 0; i < 16; i += 4) {
            MD5_STEP(MD5_F, a, b, c, d, m[i], md5_k[i], 7)
            MD5_STEP(MD5_F, d, a, b, c, m[i + 1], md5_k[i + 1], 12)
            MD5_STEP(MD5_F, c, d, a, b, m[i + 2], md5_k[i + 2], 17)
            MD5_STEP(MD5_F, b, c, d, a, m[i + 3], md5_k[i + 3], 22)
        }
        for (int i = 16; i < 32; i += 4) {
            MD5_STEP(MD5_G, a, b, c, d, m[(5 * i + 1) & 15], md5_k[i], 5)
            MD5_STEP(MD5_G, d, a, b, c, m[(5 * i + 6) & 15], md5_k[i + 1], 9)
            MD5_STEP(MD5_G, c, d, a, b, m[(5 * i + 11) & 15], md5_k[i + 2], 14)
            MD5_STEP(MD5_G, b, c, d, a, m[(5 * i + 16) & 15], md5_k[i + 3], 20)
        }
        for (int i = 32; i < 48; i += 4) {
            MD5_STEP(MD5_H, a, b, c, d, m[(3 * i + 5) & 15], md5_k[i], 4)
            MD5_STEP(MD5_H, d, a, b, c, m[(3 * i + 8) & 15], md5_k[i + 1], 11)
            MD5_STEP(MD5_H, c, d, a, b, m[(3 * i + 11) & 15], md5_k[i + 2], 16)
            MD5_STEP(MD5_H, b, c, d, a, m[(3 * i + 14) & 15], md5_k[i + 3], 23)
        }
        for (int i = 48; i < 64; i += 4) {
            MD5_STEP(MD5_I, a, b, c, d, m[(7 * i) & 15], md5_k[i], 6)
            MD5_STEP(MD5_I, d, a, b, c, m[(7 * i + 7) & 15], md5_k[i + 1], 10)
            MD5_STEP(MD5_I, c, d, a, b, m[(7 * i + 14) & 15], md5_k[i + 2], 15)
            MD5_STEP(MD5_I, b, c, d, a, m[(7 * i + 21) & 15], md5_k[i + 3], 21)
        }
        state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    }
}
