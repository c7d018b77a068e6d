// The host build's MbedtlsPlatformSetup: mbedTLS uses the C heap (Debian's
// libmbedcrypto is built that way), so there is nothing to set up.
#include "mqota/ports/mbedtls/mbedtls_crypto.h"

namespace mqota::ports {

void MbedtlsPlatformSetup() {}

}  // namespace mqota::ports
