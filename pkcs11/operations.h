// What a session has in progress: a search, a signature, a verification or a digest.
#pragma once

#include "card/pin.h"
#include "crypto/digest.h"
#include "pkcs11/mechanisms.h"
#include "pkcs11/pkcs11.h"
#include "pkcs11/token_role.h"

#include <optional>
#include <vector>

namespace jpki::p11 {

struct FindOperation {
    std::vector<CK_OBJECT_HANDLE> matches;
    std::size_t next = 0;
};

// The input of an operation that can take its data in parts: hashed as it comes (hash-and-sign
// mechanisms and digests); the single-part mechanisms take theirs in the one final call.
struct HashedInput {
    std::optional<crypto::Digest> digest;
    bool multipart = false;  // an Update call was made: the single-part call is refused now
};

struct SignOperation : HashedInput {
    const Mechanism* mechanism = nullptr;
    std::size_t signature_size = 0;
    bool needs_context_login = false;  // CKA_ALWAYS_AUTHENTICATE key
    std::optional<Pin> context_pin;    // given by C_Login(CKU_CONTEXT_SPECIFIC), wiped after use
};

struct VerifyOperation : HashedInput {
    const Mechanism* mechanism = nullptr;
    std::size_t signature_size = 0;
    Bytes certificate;  // DER, the public key's source
};

struct DigestOperation : HashedInput {};

}  // namespace jpki::p11
