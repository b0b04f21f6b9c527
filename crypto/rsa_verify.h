// RSA signature checks in software with a certificate's public key: PKCS#1 v1.5 over what was
// padded (a DigestInfo), and RSASSA-PSS over a hash. Each throws std::runtime_error when the
// certificate is not an X.509 certificate with an RSA key, and returns false for a signature
// that does not verify.
#pragma once

#include "common/bytes.h"
#include "crypto/digest.h"

namespace jpki::crypto {

// PKCS#1 v1.5: `data` is what was padded (a DigestInfo, or raw data for CKM_RSA_PKCS).
bool verify_pkcs1(const Bytes& certificate_der, const Bytes& data, const Bytes& signature);

struct PssParams {
    HashAlg hash;
    HashAlg mgf1_hash;
    int salt_length;
};
// RSASSA-PSS over `hash` (already hashed with params.hash).
bool verify_pss(const Bytes& certificate_der, const PssParams& params, const Bytes& hash, const Bytes& signature);

}  // namespace jpki::crypto
