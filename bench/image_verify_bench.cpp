// Hash + signature verification throughput of a 1 MiB signed image:
//   ours    ValidateImage (the device code path) with the mbedTLS backend
//   ours    ValidateImage with the OpenSSL backend (isolates parser overhead)
//   base    OpenSSL alone: SHA-256 of the hashed region + ECDSA P-256 verify
// Each is the median of N timed runs over the same bytes, in this process.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "mqota/host/keys.h"
#include "mqota/host/signer.h"
#include "mqota/image/tlv.h"
#include "mqota/image/validate.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/ports/openssl/openssl_crypto.h"
#include "mqota/testing/random_bytes.h"

namespace {

using Clock = std::chrono::steady_clock;

double MedianSeconds(int iterations, const std::function<bool()>& run) {
  std::vector<double> seconds;
  for (int i = 0; i < iterations; ++i) {
    const auto start = Clock::now();
    if (!run()) {
      std::fprintf(stderr, "benchmark run failed verification\n");
      std::exit(1);
    }
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 31;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--iterations") == 0) iterations = std::max(1, std::atoi(argv[i + 1]));
  }
  const size_t payload_size = 1024 * 1024 - 0x400;  // header + payload = 1 MiB
  const auto key =
      mqota::host::Key::Load(std::string(MQOTA_VECTORS_DIR) + "/ecdsa-p256-test-key.pem");
  mqota::host::SignOptions options;
  options.header_size = 0x400;
  options.pad_header = true;
  options.version = {1, 0, 0, 0};
  options.slot_size = 2 * 1024 * 1024;
  const auto image = mqota::host::BuildSignedImage(
      mqota::testing::PseudoRandomBytes(payload_size, 1), options, &key);
  const auto der = key.PublicKeyDer();
  const mqota::image::TrustedKey trusted[] = {{mqota::image::SignatureType::kEcdsaP256, der}};
  mqota::image::ValidationOptions validation;
  validation.trusted_keys = trusted;

  mqota::ports::MbedtlsCrypto mbedtls;
  mqota::ports::OpensslCrypto openssl;
  auto ours = [&](mqota::image::CryptoBackend& crypto) {
    mqota::image::MemoryImageSource source(image);
    return mqota::image::ValidateImage(source, crypto, validation).ok();
  };

  // The baseline: the same work with OpenSSL and no parser.
  mqota::image::MemoryImageSource source(image);
  const auto layout = mqota::image::ParseLayout(source);
  const size_t hashed = layout->hashed_size;
  std::vector<uint8_t> signature;
  mqota::image::TlvIterator tlvs(source, *layout, mqota::image::TlvIterator::Block::kUnprotected);
  for (auto e = tlvs.Next(); e.ok() && e->has_value(); e = tlvs.Next()) {
    if ((*e)->type != mqota::image::tlv::kEcdsaSig) continue;
    const auto begin = image.begin() + (*e)->value_offset;
    signature.assign(begin, begin + (*e)->length);
  }
  const unsigned char* p = der.data();
  EVP_PKEY* pkey = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  auto baseline = [&] {
    unsigned char digest[32];
    unsigned int len = 0;
    EVP_Digest(image.data(), hashed, digest, &len, EVP_sha256(), nullptr);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(pkey, nullptr);
    const bool ok = EVP_PKEY_verify_init(ctx) == 1 &&
                    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
                    EVP_PKEY_verify(ctx, signature.data(), signature.size(), digest, 32) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
  };

  const double mib = static_cast<double>(hashed) / (1024.0 * 1024.0);
  const double t_mbedtls = MedianSeconds(iterations, [&] { return ours(mbedtls); });
  const double t_openssl_backend = MedianSeconds(iterations, [&] { return ours(openssl); });
  const double t_baseline = MedianSeconds(iterations, baseline);
  EVP_PKEY_free(pkey);

  std::printf("hash + ECDSA P-256 verify of a %.2f MiB signed image, median of %d runs\n", mib,
              iterations);
  std::printf("%-46s %10s %10s %8s\n", "", "ms", "MB/s", "ratio");
  auto row = [&](const char* name, double t) {
    std::printf("%-46s %10.2f %10.1f %8.2f\n", name, t * 1e3, static_cast<double>(hashed) / t / 1e6,
                t_baseline / t);
  };
  row("mqota ValidateImage, mbedTLS backend (device)", t_mbedtls);
  row("mqota ValidateImage, OpenSSL backend", t_openssl_backend);
  row("baseline: OpenSSL SHA-256 + ECDSA verify", t_baseline);
  std::printf("ratio = baseline time / time (1.00 = as fast as OpenSSL alone)\n");
  return 0;
}
