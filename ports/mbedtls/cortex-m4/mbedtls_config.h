// mbedTLS 2.28 configuration for the Cortex-M4 firmware: SHA-256 and ECDSA
// P-256 signature verification, nothing else. Selected with
// -DMBEDTLS_CONFIG_FILE="mbedtls_config.h" (ports/mbedtls/CMakeLists.txt); the
// library's sources come from Debian's source package
// (scripts/fetch-mbedtls-source.sh), none of them live in this tree.
//
// Every option below is mbedTLS's own (include/mbedtls/config.h documents
// each); check_config.h, included last, refuses a set that does not hold
// together.
#ifndef MQOTA_MBEDTLS_CONFIG_H
#define MQOTA_MBEDTLS_CONFIG_H

// System: a bare-metal Cortex-M4. bn_mul.h has UMAAL-based multiply-accumulate
// for it (ECDSA verify about 3x faster than the portable C).
#define MBEDTLS_HAVE_ASM

// Memory: no C heap. mbedtls_calloc/free go through function pointers
// (PLATFORM_MEMORY) that memory_buffer_alloc points at a static pool; until
// then they return NULL (NO_STD_FUNCTIONS: no default calloc/free, nor any
// other libc function by default, is referenced).
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_PLATFORM_NO_STD_FUNCTIONS
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C

// What verification needs.
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER  // about 1.5 KiB less code, a little slower
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM  // fast reduction modulo the P-256 prime
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ASN1_PARSE_C  // the DER signature
#define MBEDTLS_ASN1_WRITE_C  // required by ECDSA_C; unused, dropped by --gc-sections

// Verification handles public data only: the point multiplication needs no
// blinding, so no random generator (and no DRBG module) is built in.
#define MBEDTLS_ECP_NO_INTERNAL_RNG

// Size over speed: the smallest window, no precomputed table for the base
// point (its comb table would cost RAM), and bignums no larger than P-256 needs
// (twice 32 bytes for products).
#define MBEDTLS_ECP_WINDOW_SIZE 2
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0
#define MBEDTLS_MPI_MAX_SIZE 64
#define MBEDTLS_MPI_WINDOW_SIZE 1

#include <mbedtls/check_config.h>

#endif  // MQOTA_MBEDTLS_CONFIG_H
