// What a session has in progress: a search, a signature, a verification or a digest.
#pragma once

#include "card/pin.h"
#include "crypto/digest.h"
#include "pkcs11/card_state.h"
#include "pkcs11/mechanisms.h"
#include "pkcs11/pkcs11.h"

#include <optional>
#include <vector>

namespace jpki::p11 {

struct FindOperation {
    std::vector<CK_OBJECT_HANDLE> matches;
    std::size_t next = 0;
};

struct SignOperation {
    const Mechanism* mechanism = nullptr;
    TokenRole role = TokenRole::Auth;
    std::optional<crypto::Digest> digest;  // hash-and-sign mechanisms
    Bytes data;                            // single-part input (RSA_PKCS, RSA_PKCS_PSS)
    bool multipart = false;                // C_SignUpdate was used
    bool needs_context_login = false;      // CKA_ALWAYS_AUTHENTICATE key
    std::optional<Pin> context_pin;        // given by C_Login(CKU_CONTEXT_SPECIFIC), wiped after use
};

struct VerifyOperation {
    const Mechanism* mechanism = nullptr;
    Bytes certificate;  // DER, the public key's source
    std::optional<crypto::Digest> digest;
    Bytes data;
    bool multipart = false;
};

struct DigestOperation {
    std::optional<crypto::Digest> digest;
    bool multipart = false;
};

}  // namespace jpki::p11
