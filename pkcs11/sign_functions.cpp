// C_SignInit, C_Sign, C_SignUpdate, C_SignFinal (on the card), and the per-signature login of
// a key that always needs authentication (C_Login with CKU_CONTEXT_SPECIFIC).
#include "common/trace.h"
#include "crypto/rsa_verify.h"
#include "pkcs11/functions.h"
#include "pkcs11/hashed_input.h"
#include "pkcs11/key_lookup.h"
#include "pkcs11/output.h"
#include "pkcs11/pin_input.h"

#include <cstring>

namespace jpki::p11 {

namespace {

// What the card signs: a DigestInfo (PKCS#1) or a SHA-256 hash (PSS).
Bytes card_input(const SignOperation& op, const Bytes& data_or_hash) {
    const Mechanism& m = *op.mechanism;
    switch (m.family) {
    case MechFamily::RsaPkcs:
        if (data_or_hash.empty() || data_or_hash.size() > op.signature_size - 11) fail(CKR_DATA_LEN_RANGE);
        return data_or_hash;
    case MechFamily::HashRsaPkcs: return crypto::digest_info(*m.hash, data_or_hash);
    case MechFamily::RsaPss:
    case MechFamily::HashRsaPss:
        if (data_or_hash.size() != crypto::hash_size(kPssHash)) fail(CKR_DATA_LEN_RANGE);
        return data_or_hash;
    case MechFamily::Digest: break;
    }
    fail(CKR_MECHANISM_INVALID);
}

// The PIN for this signature: the per-signature one of a key that always authenticates, else
// a copy of the one kept since C_Login (wiped when this call ends).
struct SignaturePin {
    std::optional<CardState::KeptPin> kept;
    const Pin* pin = nullptr;
    PinSource source = PinSource::typed();
};

SignaturePin signature_pin(const SessionCall& c, CardState& card, const SignOperation& op) {
    SignaturePin p;
    if (op.needs_context_login) {
        if (op.context_pin) p.pin = &*op.context_pin;
    } else {
        p.kept = card.kept_pin(c.role);
        if (p.kept) {
            p.pin = &p.kept->pin;
            p.source = p.kept->source;
        }
    }
    if (!p.pin || !card.logged_in(c.role)) fail(CKR_USER_NOT_LOGGED_IN);
    return p;
}

// Self-check: a PSS signature is returned only if it verifies with exactly the parameters
// asked for (a card may pad otherwise, or not at all).
bool pss_verifies(CardState& card, TokenRole role, const Bytes& hash, const Bytes& signature) {
    const crypto::CertificateInfo* cert = card.user_certificate(role);
    return cert && crypto::verify_pss(cert->der, {kPssHash, kPssHash, kPssSaltLength}, hash, signature);
}

Bytes sign_on_card(const SessionCall& c, SignOperation& op, const Bytes& data_or_hash) {
    const Bytes input = card_input(op, data_or_hash);
    const bool pss = is_pss(*op.mechanism);
    Bytes signature = c.on_card([&](CardState& card) {
        const SignaturePin p = signature_pin(c, card, op);
        Bytes out;
        try {
            out = card.sign(c.role, *p.pin, pss ? SignScheme::PssSha256Hash : SignScheme::Pkcs1, input, p.source);
        } catch (const CardError& e) {
            if (e.code() == CardErrc::PinIncorrect || e.code() == CardErrc::PinBlocked || e.code() == CardErrc::StalePin)
                fail(CKR_USER_NOT_LOGGED_IN);
            if (pss && e.code() == CardErrc::WrongP1P2) {
                // C_Sign may not answer CKR_MECHANISM_INVALID (PKCS#11 5.12); the next
                // C_SignInit with PSS does.
                trace_line("card refused its PSS mode (P1=04): PSS is no longer offered for this card");
                card.give_up_pss();
                fail(CKR_FUNCTION_FAILED);
            }
            throw;
        }
        if (pss && !pss_verifies(card, c.role, input, out)) {
            trace_line("PSS self-check failed: the card's signature does not verify with SHA-256, MGF1-SHA256, "
                       "salt 32; PSS is no longer offered for this card");
            card.give_up_pss();
            fail(CKR_DEVICE_ERROR);
        }
        return out;
    });
    if (signature.size() != op.signature_size) fail(CKR_DEVICE_ERROR);
    return signature;
}

void write_out(const Bytes& value, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
    std::memcpy(out, value.data(), value.size());
    *out_len = value.size();
}

}  // namespace

void sign_init(CK_SESSION_HANDLE handle, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key) {
    state();
    require_args(mechanism != nullptr);
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        auto op = std::make_shared<SignOperation>();
        c.on_card([&](CardState& card) {
            op->mechanism = &key_mechanism(card, c.role, *mechanism);
            require_key(c, card, key, ObjectKind::PrivateKey);
            op->signature_size = card.key(c.role).signature_size;
            op->needs_context_login = card.key(c.role).pin_each_signature;
        });
        if (wants_hash(*op->mechanism)) op->digest.emplace(*op->mechanism->hash);
        begin_operation(c, &Session::sign, std::move(op));
    });
}

void sign(CK_SESSION_HANDLE handle, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len) {
    state();
    require_operation_args(sig_len && (data || !len), handle, &Session::sign);
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        with_operation(c, &Session::sign, [&](SignOperation& op) {
            require_single_part(op);
            if (!has_room(sig, sig_len, op.signature_size)) return Operation::Continues;
            write_out(sign_on_card(c, op, whole_input(op, data, len)), sig, sig_len);
            return Operation::Ends;
        });
    });
}

void sign_update(CK_SESSION_HANDLE handle, CK_BYTE_PTR data, CK_ULONG len) {
    update_hashed_input(handle, &Session::sign, data, len);
}

void sign_final(CK_SESSION_HANDLE handle, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len) {
    state();
    require_operation_args(sig_len != nullptr, handle, &Session::sign);
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        with_operation(c, &Session::sign, [&](SignOperation& op) {
            require_multi_part(op);
            if (!has_room(sig, sig_len, op.signature_size)) return Operation::Continues;
            write_out(sign_on_card(c, op, op.digest->finish()), sig, sig_len);
            return Operation::Ends;
        });
    });
}

void login_context_specific(const SessionCall& c, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len) {
    const std::shared_ptr<SignOperation> op = c.on_session([](Session& s) { return s.sign; });
    if (!op || !op->needs_context_login) fail(CKR_OPERATION_NOT_INITIALIZED);
    c.on_card([&](CardState& card) {
        if (!card.logged_in(c.role)) fail(CKR_USER_NOT_LOGGED_IN);
        Pin parsed = entered_pin("C_Login", c.role, pin, pin_len);  // format first: nothing sent
        if (card.known_tries(c.role) == 0) fail(CKR_PIN_LOCKED);
        // The PIN the card accepted at C_Login needs no second VERIFY here: the card checks it
        // again in the signature's own transaction. Any other PIN is checked now, so that a
        // wrong one is reported by this C_Login.
        if (!card.is_login_pin(c.role, parsed)) card.check_pin(c.role, parsed);
        op->context_pin.emplace(std::move(parsed));
    });
}

}  // namespace jpki::p11
