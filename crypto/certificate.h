// An X.509 certificate as PKCS#11 objects need it: the DER pieces for the attributes and the
// RSA public key. Parsed once per card insertion.
#pragma once

#include "common/bytes.h"

#include <string>

namespace jpki::crypto {

struct CertificateInfo {
    Bytes der;
    Bytes subject;        // DER Name
    Bytes issuer;         // DER Name
    Bytes serial_number;  // DER INTEGER
    Bytes public_key_info;  // DER SubjectPublicKeyInfo
    Bytes modulus;        // big-endian, no leading zero
    Bytes public_exponent;
    std::size_t modulus_bits = 0;
    std::string not_before;  // YYYYMMDD
    std::string not_after;
    std::string common_name;  // may be empty
    Bytes public_key_sha1;   // SHA-1 of the subjectPublicKey bits
};

// Throws std::runtime_error for DER that is not an X.509 certificate with an RSA key.
CertificateInfo parse_certificate(const Bytes& der);

}  // namespace jpki::crypto
