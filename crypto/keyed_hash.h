// A keyed hash for remembering that a secret was seen without keeping the secret: HMAC-SHA256
// under a random key that never leaves the process.
#pragma once

#include "common/secure_buffer.h"

namespace jpki::crypto {

// `size` random bytes from OpenSSL's generator; throws std::runtime_error if it fails.
SecureBuffer random_key(std::size_t size);
// HMAC-SHA256(key, data), 32 bytes.
SecureBuffer keyed_hash(const SecureBuffer& key, const SecureBuffer& data);

}  // namespace jpki::crypto
