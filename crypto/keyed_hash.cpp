#include "crypto/keyed_hash.h"

#include "common/secure_memory.h"
#include "crypto/libctx.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace jpki::crypto {

SecureBuffer random_key(std::size_t size) {
    std::uint8_t bytes[SecureBuffer::kCapacity];
    if (size > sizeof bytes || RAND_bytes_ex(module_libctx(), bytes, size, 0) != 1) throw std::runtime_error("RAND_bytes");
    SecureBuffer key(bytes, size);
    secure_wipe(bytes, sizeof bytes);
    return key;
}

SecureBuffer keyed_hash(const SecureBuffer& key, const SecureBuffer& data) {
    std::uint8_t out[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    if (!EVP_Q_mac(module_libctx(), "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(), data.data(),
                   data.size(), out, sizeof out, &len))
        throw std::runtime_error("HMAC");
    SecureBuffer result(out, len);
    secure_wipe(out, sizeof out);
    return result;
}

}  // namespace jpki::crypto
