#include "crypto/keyed_hash.h"

#include "common/secure_memory.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace jpki::crypto {

SecureBuffer random_key(std::size_t size) {
    std::uint8_t bytes[SecureBuffer::kCapacity];
    if (size > sizeof bytes || RAND_bytes(bytes, static_cast<int>(size)) != 1) throw std::runtime_error("RAND_bytes");
    SecureBuffer key(bytes, size);
    secure_wipe(bytes, sizeof bytes);
    return key;
}

SecureBuffer keyed_hash(const SecureBuffer& key, const SecureBuffer& data) {
    std::uint8_t out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out, &len))
        throw std::runtime_error("HMAC");
    SecureBuffer result(out, len);
    secure_wipe(out, sizeof out);
    return result;
}

}  // namespace jpki::crypto
