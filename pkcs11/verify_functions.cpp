// C_VerifyInit, C_Verify, C_VerifyUpdate, C_VerifyFinal: in software, with the public key of
// the token's certificate.
#include "crypto/rsa_verify.h"
#include "pkcs11/functions.h"
#include "pkcs11/hashed_input.h"
#include "pkcs11/key_lookup.h"

namespace jpki::p11 {

namespace {

bool signature_verifies(const VerifyOperation& op, const Bytes& data_or_hash, const Bytes& sig) {
    const Mechanism& m = *op.mechanism;
    switch (m.family) {
    case MechFamily::RsaPkcs: return crypto::verify_pkcs1(op.certificate, data_or_hash, sig);
    case MechFamily::HashRsaPkcs: return crypto::verify_pkcs1(op.certificate, crypto::digest_info(*m.hash, data_or_hash), sig);
    case MechFamily::RsaPss:
    case MechFamily::HashRsaPss:
        if (data_or_hash.size() != crypto::hash_size(kPssHash)) fail(CKR_DATA_LEN_RANGE);
        return crypto::verify_pss(op.certificate, {kPssHash, kPssHash, kPssSaltLength}, data_or_hash, sig);
    case MechFamily::Digest: break;
    }
    return false;
}

void check(const VerifyOperation& op, const Bytes& data_or_hash, CK_BYTE_PTR sig, CK_ULONG sig_len) {
    if (sig_len != op.signature_size) fail(CKR_SIGNATURE_LEN_RANGE);
    if (!signature_verifies(op, data_or_hash, Bytes(sig, sig + sig_len))) fail(CKR_SIGNATURE_INVALID);
}

}  // namespace

void verify_init(CK_SESSION_HANDLE handle, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key) {
    state();
    require_args(mechanism != nullptr);
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        auto op = std::make_shared<VerifyOperation>();
        c.on_card([&](CardState& card) {
            op->mechanism = &key_mechanism(card, c.role, *mechanism);
            require_key(c, card, key, ObjectKind::PublicKey);
            op->certificate = card.user_certificate(c.role)->der;
            op->signature_size = card.key(c.role).signature_size;
        });
        if (wants_hash(*op->mechanism)) op->digest.emplace(*op->mechanism->hash);
        begin_operation(c, &Session::verify, std::move(op));
    });
}

void verify(CK_SESSION_HANDLE handle, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG sig_len) {
    state();
    require_operation_args(sig && (data || !len), handle, &Session::verify);
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        with_operation(c, &Session::verify, [&](VerifyOperation& op) {
            require_single_part(op);
            const Bytes input = whole_input(op, data, len);
            if (op.mechanism->family == MechFamily::RsaPkcs && input.size() > op.signature_size - 11)
                fail(CKR_DATA_LEN_RANGE);
            check(op, input, sig, sig_len);
            return Operation::Ends;
        });
    });
}

void verify_update(CK_SESSION_HANDLE handle, CK_BYTE_PTR data, CK_ULONG len) {
    update_hashed_input(handle, &Session::verify, data, len);
}

void verify_final(CK_SESSION_HANDLE handle, CK_BYTE_PTR sig, CK_ULONG sig_len) {
    state();
    require_operation_args(sig != nullptr, handle, &Session::verify);
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        with_operation(c, &Session::verify, [&](VerifyOperation& op) {
            require_multi_part(op);
            check(op, op.digest->finish(), sig, sig_len);
            return Operation::Ends;
        });
    });
}

}  // namespace jpki::p11
