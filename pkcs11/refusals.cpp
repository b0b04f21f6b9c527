// The functions a read-only, sign-only token can only refuse, each in the order every function
// checks: the module initialised, then the arguments, then the session (or slot, or object),
// then the mechanism, and only then what the token cannot do.
#include "pkcs11/call.h"
#include "pkcs11/functions.h"

#include <algorithm>
#include <iterator>

namespace jpki::p11 {

namespace {

// The key and key-pair generation mechanisms PKCS#11 defines: a request naming one of them is
// well-formed, and refused because nothing can be written to the token.
const CK_MECHANISM_TYPE kKeyGeneration[] = {
    CKM_RC2_KEY_GEN,   CKM_RC4_KEY_GEN,      CKM_DES_KEY_GEN,     CKM_DES2_KEY_GEN,     CKM_DES3_KEY_GEN,
    CKM_CDMF_KEY_GEN,  CKM_CAST_KEY_GEN,     CKM_CAST3_KEY_GEN,   CKM_CAST128_KEY_GEN,  CKM_RC5_KEY_GEN,
    CKM_IDEA_KEY_GEN,  CKM_GENERIC_SECRET_KEY_GEN, CKM_SSL3_PRE_MASTER_KEY_GEN, CKM_TLS_PRE_MASTER_KEY_GEN,
    CKM_ARIA_KEY_GEN,  CKM_SEED_KEY_GEN,     CKM_SKIPJACK_KEY_GEN, CKM_BATON_KEY_GEN,   CKM_JUNIPER_KEY_GEN,
    CKM_AES_KEY_GEN,   CKM_BLOWFISH_KEY_GEN, CKM_TWOFISH_KEY_GEN, CKM_CAMELLIA_KEY_GEN, CKM_GOST28147_KEY_GEN,
};
const CK_MECHANISM_TYPE kKeyPairGeneration[] = {
    CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_X9_31_KEY_PAIR_GEN, CKM_DSA_KEY_PAIR_GEN,     CKM_DH_PKCS_KEY_PAIR_GEN,
    CKM_X9_42_DH_KEY_PAIR_GEN, CKM_KEA_KEY_PAIR_GEN,       CKM_EC_KEY_PAIR_GEN,      CKM_GOSTR3410_KEY_PAIR_GEN,
    CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EC_MONTGOMERY_KEY_PAIR_GEN,
};

template <std::size_t N>
bool listed(const CK_MECHANISM_TYPE (&table)[N], CK_MECHANISM_TYPE type) {
    return std::find(std::begin(table), std::end(table), type) != std::end(table);
}

}  // namespace

void refuse_for_session(CK_SESSION_HANDLE session, ArgsValid args, CK_RV rv) {
    state();
    require_args(args == ArgsValid::Yes);
    session_call(session, Need::Token);
    fail(rv);
}

void refuse_for_token(CK_SLOT_ID slot, ArgsValid args, CK_RV rv) {
    state();
    require_args(args == ArgsValid::Yes);
    slot_call(slot, SlotNeed::Token);
    fail(rv);
}

void refuse_key_generation(CK_SESSION_HANDLE session, const CK_MECHANISM* mechanism, ArgsValid args, KeysMade made) {
    state();
    require_args(args == ArgsValid::Yes && mechanism != nullptr);
    session_call(session, Need::Token);
    const bool known = made == KeysMade::Pair ? listed(kKeyPairGeneration, mechanism->mechanism)
                                              : listed(kKeyGeneration, mechanism->mechanism);
    fail(known ? CKR_TOKEN_WRITE_PROTECTED : CKR_MECHANISM_INVALID);
}

}  // namespace jpki::p11
