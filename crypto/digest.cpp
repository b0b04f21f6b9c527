#include "crypto/digest.h"

#include "crypto/libctx.h"
#include "crypto/openssl_ptr.h"

#include <stdexcept>

namespace jpki::crypto {

namespace {
// RFC 8017 9.2, note 1: the DER prefixes of DigestInfo for each hash.
const Bytes kPrefixSha1 = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
const Bytes kPrefixSha224 = {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                             0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c};
const Bytes kPrefixSha256 = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                             0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
const Bytes kPrefixSha384 = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                             0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
const Bytes kPrefixSha512 = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                             0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

const Bytes& prefix(HashAlg alg) {
    switch (alg) {
    case HashAlg::Sha1: return kPrefixSha1;
    case HashAlg::Sha224: return kPrefixSha224;
    case HashAlg::Sha256: return kPrefixSha256;
    case HashAlg::Sha384: return kPrefixSha384;
    case HashAlg::Sha512: return kPrefixSha512;
    }
    return kPrefixSha256;
}
}  // namespace

std::size_t hash_size(HashAlg alg) {
    switch (alg) {
    case HashAlg::Sha1: return 20;
    case HashAlg::Sha224: return 28;
    case HashAlg::Sha256: return 32;
    case HashAlg::Sha384: return 48;
    case HashAlg::Sha512: return 64;
    }
    return 0;
}

struct Digest::Context {
    EvpMdCtxPtr md{EVP_MD_CTX_new()};
};

Digest::Digest(HashAlg alg) : alg_(alg), ctx_(std::make_unique<Context>()) {
    if (!ctx_->md || EVP_DigestInit_ex(ctx_->md.get(), evp_md(alg), nullptr) != 1)
        throw std::runtime_error("EVP_DigestInit_ex");
}

Digest::~Digest() = default;
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;

void Digest::update(const std::uint8_t* data, std::size_t len) {
    if (len && EVP_DigestUpdate(ctx_->md.get(), data, len) != 1) throw std::runtime_error("EVP_DigestUpdate");
}

Bytes Digest::finish() {
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_->md.get(), out.data(), &len) != 1) throw std::runtime_error("EVP_DigestFinal_ex");
    out.resize(len);
    return out;
}

Bytes hash(HashAlg alg, const std::uint8_t* data, std::size_t len) {
    Digest d(alg);
    d.update(data, len);
    return d.finish();
}

Bytes digest_info(HashAlg alg, const Bytes& h) {
    Bytes out = prefix(alg);
    out.insert(out.end(), h.begin(), h.end());
    return out;
}

}  // namespace jpki::crypto
