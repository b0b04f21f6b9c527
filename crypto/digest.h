// Message digests in software (SHA-1, SHA-2) and the PKCS#1 DigestInfo around a hash.
#pragma once

#include "common/bytes.h"

#include <cstddef>
#include <cstdint>
#include <memory>

namespace jpki::crypto {

enum class HashAlg { Sha1, Sha224, Sha256, Sha384, Sha512 };

std::size_t hash_size(HashAlg alg);

// An incremental hash; copyable state is not needed, so it is move-only.
class Digest {
public:
    explicit Digest(HashAlg alg);  // throws std::runtime_error if OpenSSL fails
    ~Digest();
    Digest(Digest&&) noexcept;
    Digest& operator=(Digest&&) noexcept;
    void update(const std::uint8_t* data, std::size_t len);
    Bytes finish();
    HashAlg alg() const { return alg_; }

private:
    struct Context;  // OpenSSL's, kept out of this header
    HashAlg alg_;
    std::unique_ptr<Context> ctx_;
};

Bytes hash(HashAlg alg, const std::uint8_t* data, std::size_t len);

// DER DigestInfo { AlgorithmIdentifier, OCTET STRING hash } (RFC 8017 9.2 note 1).
Bytes digest_info(HashAlg alg, const Bytes& hash);

}  // namespace jpki::crypto
