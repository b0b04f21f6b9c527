// RSA signature checks in software: PKCS#1 v1.5 over raw data (a DigestInfo) or a message,
// and RSASSA-PSS over a hash.
#pragma once

#include "card/bytes.h"
#include "crypto/digest.h"

#include <optional>

namespace jpki::crypto {

// PKCS#1 v1.5: `data` is what was padded (a DigestInfo, or raw data for CKM_RSA_PKCS).
bool verify_pkcs1_raw(EVP_PKEY* key, const Bytes& data, const Bytes& signature);
// RSASSA-PSS over `hash` (already hashed with `alg`), MGF1 with `mgf`, salt length `salt`.
bool verify_pss(EVP_PKEY* key, HashAlg alg, HashAlg mgf, int salt, const Bytes& hash, const Bytes& signature);

}  // namespace jpki::crypto
