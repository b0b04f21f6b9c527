// What C_SignInit and C_VerifyInit check about the mechanism and the key they are given.
#pragma once

#include "pkcs11/call.h"
#include "pkcs11/mechanisms.h"
#include "pkcs11/objects.h"

namespace jpki::p11 {

// A signature mechanism this token's key can use now (CKR_MECHANISM_INVALID otherwise), with
// its parameters checked (CKR_MECHANISM_PARAM_INVALID).
const Mechanism& key_mechanism(CardState& card, TokenRole role, const CK_MECHANISM& mechanism);

// The key handle names an object of `kind` the session may see: a private object before login
// is CKR_USER_NOT_LOGGED_IN, the token's other key CKR_KEY_FUNCTION_NOT_PERMITTED, anything
// else CKR_KEY_HANDLE_INVALID. Call with the card's lock held.
void require_key(const SessionCall& c, CardState& card, CK_OBJECT_HANDLE key, ObjectKind kind);

inline bool wants_hash(const Mechanism& m) {
    return m.family == MechFamily::HashRsaPkcs || m.family == MechFamily::HashRsaPss;
}

}  // namespace jpki::p11
