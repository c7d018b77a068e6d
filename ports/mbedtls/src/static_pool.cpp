// The Cortex-M4 build's MbedtlsPlatformSetup: mbedTLS allocates from a static
// pool (its memory_buffer_alloc module), never from a C heap, which the
// firmware does not have (mbedtls_config.h: PLATFORM_MEMORY without std
// functions).
//
// Pool size: ECDSA P-256 verification with this config holds at most a few
// dozen bignums of 32..64 bytes at once (the points of the double
// multiplication and their temporaries), plus the allocator's headers.
// Measured on QEMU with the self-test (image.ecdsa_signature_verifies): 3072
// bytes verify, 2560 do not (the allocation fails and Verify says kInvalid,
// never anything worse). The default, 3584, leaves half a KiB over that.
#include <mbedtls/memory_buffer_alloc.h>

#include <cstddef>
#include <cstdint>

#include "mqota/ports/mbedtls/mbedtls_crypto.h"

namespace mqota::ports {
namespace {

constexpr size_t kPoolBytes = MQOTA_MBEDTLS_POOL_BYTES;
alignas(8) unsigned char g_pool[kPoolBytes];
bool g_pool_ready = false;

}  // namespace

void MbedtlsPlatformSetup() {
  // Once: a second init would forget blocks that are in use. Allocations never
  // outlive a Verify() call, so the pool is empty between calls.
  if (g_pool_ready) return;
  mbedtls_memory_buffer_alloc_init(g_pool, sizeof g_pool);
  g_pool_ready = true;
}

}  // namespace mqota::ports
