// C_Sign* (on the card), C_Verify* and C_Digest* (in software), and the per-signature login
// of a key that always needs authentication.
#include "card/trace.h"
#include "crypto/rsa_verify.h"
#include "pkcs11/card_access.h"
#include "pkcs11/session_context.h"
#include "pkcs11/functions.h"
#include "pkcs11/objects.h"

#include <openssl/crypto.h>

#include <cstring>

namespace jpki::p11 {

namespace {

using crypto::HashAlg;

// A signature or verification mechanism this token offers; else CKR_MECHANISM_INVALID.
const Mechanism& key_mechanism(CardState& card, const CK_MECHANISM* mech) {
    if (!mech) fail(CKR_ARGUMENTS_BAD);
    const Mechanism* m = find_mechanism(mech->mechanism);
    if (!m || m->family == MechFamily::Digest || (is_pss(*m) && !card.pss_available())) fail(CKR_MECHANISM_INVALID);
    if (is_pss(*m)) check_pss_params(*mech);
    return *m;
}

// The object behind a key handle, if the session may see it.
const Object* key_object(const SessionContext& c, CardState& card, CK_OBJECT_HANDLE key, bool& hidden) {
    CK_SLOT_ID slot;
    ObjectKind kind;
    hidden = false;
    if (!decode_handle(key, slot, kind) || slot != c.slot) return nullptr;
    const auto objects = card.objects(c.role, c.slot);  // valid while the card lock is held
    for (const Object& o : *objects) {
        if (o.handle != key) continue;
        if (o.is_private && !card.logged_in(c.role)) {
            hidden = true;
            return nullptr;
        }
        return &o;
    }
    return nullptr;
}

bool wants_hash(const Mechanism& m) { return m.family == MechFamily::HashRsaPkcs || m.family == MechFamily::HashRsaPss; }

// What the card signs: a DigestInfo (PKCS#1) or a SHA-256 hash (PSS).
Bytes card_input(const Mechanism& m, const Bytes& data_or_hash) {
    switch (m.family) {
    case MechFamily::RsaPkcs:
        if (data_or_hash.empty() || data_or_hash.size() > kSignatureLength - 11) fail(CKR_DATA_LEN_RANGE);
        return data_or_hash;
    case MechFamily::HashRsaPkcs: return crypto::digest_info(*m.hash, data_or_hash);
    case MechFamily::RsaPss:
    case MechFamily::HashRsaPss:
        if (data_or_hash.size() != 32) fail(CKR_DATA_LEN_RANGE);
        return data_or_hash;
    case MechFamily::Digest: break;
    }
    fail(CKR_MECHANISM_INVALID);
}

// PKCS#11 2.40 5.10-5.13: a single-part or final call ends the operation whatever happens,
// unless it only asks for the length or the buffer is too small; an update that fails ends it
// too. So each call takes the operation out of the session first, and puts it back only then.
std::shared_ptr<SignOperation> take_sign(const SessionContext& c, CK_SESSION_HANDLE handle, bool args_ok,
                                         CK_BYTE_PTR sig, CK_ULONG_PTR sig_len, bool final_part) {
    std::lock_guard<Mutex> lock(*c.st->mutex);
    Session& s = c.st->sessions.get(handle);
    if (!s.sign) fail(CKR_OPERATION_NOT_INITIALIZED);
    auto op = std::move(s.sign);
    if (!args_ok || !sig_len) fail(CKR_ARGUMENTS_BAD);
    if (final_part && !op->digest) fail(CKR_FUNCTION_NOT_SUPPORTED);  // single-part mechanism
    if (!final_part && op->multipart) fail(CKR_OPERATION_ACTIVE);     // C_Sign after C_SignUpdate
    if (!sig || *sig_len < kSignatureLength) {
        const bool query = !sig;
        *sig_len = kSignatureLength;
        s.sign = std::move(op);
        if (query) return nullptr;
        fail(CKR_BUFFER_TOO_SMALL);
    }
    return op;
}

void sign_on_card(const SessionContext& c, SignOperation& op, const Bytes& data_or_hash, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len) {
    const Bytes input = card_input(*op.mechanism, data_or_hash);
    const bool pss = is_pss(*op.mechanism);
    Bytes signature = with_card(*c.st, c.slot, c.card, [&](CardState& card) {
        // The per-signature PIN of a key that always authenticates, else a copy of the PIN
        // kept since C_Login (wiped when this operation ends).
        const bool kept = !op.needs_context_login;
        std::optional<Pin> login_pin = kept ? card.login_pin(c.role) : std::nullopt;
        const Pin* pin = kept ? (login_pin ? &*login_pin : nullptr) : (op.context_pin ? &*op.context_pin : nullptr);
        if (!pin || !card.logged_in(c.role)) fail(CKR_USER_NOT_LOGGED_IN);
        Bytes out;
        try {
            out = card.sign(c.role, *pin, pss ? SignScheme::PssSha256Hash : SignScheme::Pkcs1, input, kept);
        } catch (const CardError& e) {
            if (e.code() == CardErrc::PinIncorrect || e.code() == CardErrc::PinBlocked || e.code() == CardErrc::StalePin)
                fail(CKR_USER_NOT_LOGGED_IN);
            if (pss && e.code() == CardErrc::WrongP1P2) {
                trace_line("card refused its PSS mode (P1=04): PSS is no longer offered for this card");
                card.give_up_pss();
                fail(CKR_MECHANISM_INVALID);
            }
            throw;
        }
        if (pss) {
            // Self-check: a PSS signature is returned only if it verifies with exactly the
            // parameters asked for (a card may pad otherwise, or not at all).
            const crypto::CertificateInfo* cert = card.user_certificate(c.role);
            if (!cert || !crypto::verify_pss(crypto::public_key(cert->der).get(), HashAlg::Sha256, HashAlg::Sha256,
                                             kPssSaltLength, input, out)) {
                trace_line("PSS self-check failed: the card's signature does not verify with SHA-256, MGF1-SHA256, "
                           "salt 32; PSS is no longer offered for this card");
                card.give_up_pss();
                fail(CKR_DEVICE_ERROR);
            }
        }
        return out;
    });
    if (signature.size() != kSignatureLength) fail(CKR_DEVICE_ERROR);
    std::memcpy(sig, signature.data(), signature.size());
    *sig_len = signature.size();
}

bool verify_signature(const Mechanism& m, const Bytes& cert, const Bytes& data_or_hash, const Bytes& sig) {
    auto key = crypto::public_key(cert);
    switch (m.family) {
    case MechFamily::RsaPkcs: return crypto::verify_pkcs1_raw(key.get(), data_or_hash, sig);
    case MechFamily::HashRsaPkcs: return crypto::verify_pkcs1_raw(key.get(), crypto::digest_info(*m.hash, data_or_hash), sig);
    case MechFamily::RsaPss:
    case MechFamily::HashRsaPss:
        if (data_or_hash.size() != 32) fail(CKR_DATA_LEN_RANGE);
        return crypto::verify_pss(key.get(), HashAlg::Sha256, HashAlg::Sha256, kPssSaltLength, data_or_hash, sig);
    case MechFamily::Digest: break;
    }
    return false;
}


}  // namespace

// --- signatures ------------------------------------------------------------------------------

void sign_init(CK_SESSION_HANDLE handle, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key) {
    SessionContext c = session_context(handle);
    auto op = std::make_shared<SignOperation>();
    op->role = c.role;
    with_card(*c.st, c.slot, c.card, [&](CardState& card) {
        op->mechanism = &key_mechanism(card, mechanism);
        bool hidden;
        const Object* o = key_object(c, card, key, hidden);
        if (hidden) fail(CKR_USER_NOT_LOGGED_IN);
        if (!o) fail(CKR_KEY_HANDLE_INVALID);
        if (o->kind != ObjectKind::PrivateKey) fail(o->kind == ObjectKind::PublicKey ? CKR_KEY_FUNCTION_NOT_PERMITTED : CKR_KEY_HANDLE_INVALID);
    });
    if (wants_hash(*op->mechanism)) op->digest.emplace(*op->mechanism->hash);
    op->needs_context_login = c.role == TokenRole::Sign;
    std::lock_guard<Mutex> lock(*c.st->mutex);
    Session& s = c.st->sessions.get(handle);
    if (s.sign) fail(CKR_OPERATION_ACTIVE);
    s.sign = std::move(op);
}

void sign(CK_SESSION_HANDLE handle, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len) {
    SessionContext c = session_context(handle);
    auto op = take_sign(c, handle, data || !len, sig, sig_len, false);
    if (!op) return;  // length query
    Bytes input = data ? Bytes(data, data + len) : Bytes{};
    if (op->digest) {
        op->digest->update(input.data(), input.size());
        input = op->digest->finish();
    }
    sign_on_card(c, *op, input, sig, sig_len);
}

void sign_update(CK_SESSION_HANDLE handle, CK_BYTE_PTR data, CK_ULONG len) {
    auto st = state();
    std::lock_guard<Mutex> lock(*st->mutex);
    Session& s = st->sessions.get(handle);
    if (!s.sign) fail(CKR_OPERATION_NOT_INITIALIZED);
    auto op = std::move(s.sign);  // back only if the update succeeds
    if (!data && len) fail(CKR_ARGUMENTS_BAD);
    if (!op->digest) fail(CKR_FUNCTION_NOT_SUPPORTED);  // CKM_RSA_PKCS, CKM_RSA_PKCS_PSS: single-part
    op->digest->update(data, len);
    op->multipart = true;
    s.sign = std::move(op);
}

void sign_final(CK_SESSION_HANDLE handle, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len) {
    SessionContext c = session_context(handle);
    auto op = take_sign(c, handle, true, sig, sig_len, true);
    if (!op) return;
    sign_on_card(c, *op, op->digest->finish(), sig, sig_len);
}

void login_context_specific(CK_SESSION_HANDLE handle, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len) {
    SessionContext c = session_context(handle);
    std::shared_ptr<SignOperation> op;
    {
        std::lock_guard<Mutex> lock(*c.st->mutex);
        op = c.st->sessions.get(handle).sign;
    }
    if (!op || !op->needs_context_login) fail(CKR_OPERATION_NOT_INITIALIZED);
    if (!pin) fail(CKR_ARGUMENTS_BAD);
    with_card(*c.st, c.slot, c.card, [&](CardState& card) {
        if (!card.logged_in(c.role)) fail(CKR_USER_NOT_LOGGED_IN);
        Pin parsed = Pin::parse(pin_of(c.role), pin, pin_len);  // format first: nothing sent
        if (card.known_tries(c.role) == 0) fail(CKR_PIN_LOCKED);
        // The PIN the card accepted at C_Login needs no second VERIFY here: the card checks it
        // again in the signature's own transaction. Any other PIN is checked now, so that a
        // wrong one is reported by this C_Login.
        const std::optional<Pin> known = card.login_pin(c.role);
        const SecureBuffer& a = parsed.bytes();
        const bool same = known && known->bytes().size() == a.size() &&
                          CRYPTO_memcmp(known->bytes().data(), a.data(), a.size()) == 0;
        if (!same) card.check_pin(c.role, parsed);
        op->context_pin.emplace(std::move(parsed));
    });
}

// --- verification (software, with the certificate's public key) ------------------------------

void verify_init(CK_SESSION_HANDLE handle, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key) {
    SessionContext c = session_context(handle);
    auto op = std::make_shared<VerifyOperation>();
    with_card(*c.st, c.slot, c.card, [&](CardState& card) {
        op->mechanism = &key_mechanism(card, mechanism);
        bool hidden;
        const Object* o = key_object(c, card, key, hidden);
        if (hidden) fail(CKR_USER_NOT_LOGGED_IN);
        if (!o || o->kind == ObjectKind::UserCert || o->kind == ObjectKind::CaCert) fail(CKR_KEY_HANDLE_INVALID);
        if (o->kind != ObjectKind::PublicKey) fail(CKR_KEY_FUNCTION_NOT_PERMITTED);
        op->certificate = card.user_certificate(c.role)->der;
    });
    if (wants_hash(*op->mechanism)) op->digest.emplace(*op->mechanism->hash);
    std::lock_guard<Mutex> lock(*c.st->mutex);
    Session& s = c.st->sessions.get(handle);
    if (s.verify) fail(CKR_OPERATION_ACTIVE);
    s.verify = std::move(op);
}

namespace {
// Takes the verification out of the session: C_Verify and C_VerifyFinal always end it.
std::shared_ptr<VerifyOperation> take_verify(CK_SESSION_HANDLE handle, bool final_part) {
    auto st = state();
    std::lock_guard<Mutex> lock(*st->mutex);
    Session& s = st->sessions.get(handle);
    if (!s.verify) fail(CKR_OPERATION_NOT_INITIALIZED);
    auto op = std::move(s.verify);
    if (final_part && !op->digest) fail(CKR_FUNCTION_NOT_SUPPORTED);
    if (!final_part && op->multipart) fail(CKR_OPERATION_ACTIVE);
    return op;
}

void check(const VerifyOperation& op, const Bytes& data_or_hash, CK_BYTE_PTR sig, CK_ULONG sig_len) {
    if (!sig) fail(CKR_ARGUMENTS_BAD);
    if (sig_len != kSignatureLength) fail(CKR_SIGNATURE_LEN_RANGE);
    if (!verify_signature(*op.mechanism, op.certificate, data_or_hash, Bytes(sig, sig + sig_len)))
        fail(CKR_SIGNATURE_INVALID);
}
}  // namespace

void verify(CK_SESSION_HANDLE handle, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG sig_len) {
    auto op = take_verify(handle, false);
    if (!data && len) fail(CKR_ARGUMENTS_BAD);
    Bytes input = data ? Bytes(data, data + len) : Bytes{};
    if (op->digest) {
        op->digest->update(input.data(), input.size());
        input = op->digest->finish();
    }
    if (op->mechanism->family == MechFamily::RsaPkcs && input.size() > kSignatureLength - 11) fail(CKR_DATA_LEN_RANGE);
    check(*op, input, sig, sig_len);
}

void verify_update(CK_SESSION_HANDLE handle, CK_BYTE_PTR data, CK_ULONG len) {
    auto st = state();
    std::lock_guard<Mutex> lock(*st->mutex);
    Session& s = st->sessions.get(handle);
    if (!s.verify) fail(CKR_OPERATION_NOT_INITIALIZED);
    auto op = std::move(s.verify);  // back only if the update succeeds
    if (!data && len) fail(CKR_ARGUMENTS_BAD);
    if (!op->digest) fail(CKR_FUNCTION_NOT_SUPPORTED);
    op->digest->update(data, len);
    op->multipart = true;
    s.verify = std::move(op);
}

void verify_final(CK_SESSION_HANDLE handle, CK_BYTE_PTR sig, CK_ULONG sig_len) {
    auto op = take_verify(handle, true);
    check(*op, op->digest->finish(), sig, sig_len);
}

// --- digests (software) --------------------------------------------------------------------

void digest_init(CK_SESSION_HANDLE handle, CK_MECHANISM_PTR mechanism) {
    if (!mechanism) fail(CKR_ARGUMENTS_BAD);
    session_context(handle);
    const Mechanism* m = find_mechanism(mechanism->mechanism);
    if (!m || m->family != MechFamily::Digest) fail(CKR_MECHANISM_INVALID);
    auto st = state();
    std::lock_guard<Mutex> lock(*st->mutex);
    Session& s = st->sessions.get(handle);
    if (s.digest) fail(CKR_OPERATION_ACTIVE);
    s.digest = std::make_shared<DigestOperation>();
    s.digest->digest.emplace(*m->hash);
}

namespace {
// Finishes the digest into `out` with the length-query rules: the operation stays only for a
// length query or a too-small buffer.
void finish_digest(CK_SESSION_HANDLE handle, CK_BYTE_PTR last, CK_ULONG last_len, CK_BYTE_PTR out,
                   CK_ULONG_PTR out_len, bool final_part) {
    auto st = state();
    std::lock_guard<Mutex> lock(*st->mutex);
    Session& s = st->sessions.get(handle);
    if (!s.digest) fail(CKR_OPERATION_NOT_INITIALIZED);
    auto op = std::move(s.digest);
    if (!out_len || (!last && last_len)) fail(CKR_ARGUMENTS_BAD);
    if (!final_part && op->multipart) fail(CKR_OPERATION_ACTIVE);
    const CK_ULONG size = crypto::hash_size(op->digest->alg());
    if (!out || *out_len < size) {
        const bool query = !out;
        *out_len = size;
        s.digest = std::move(op);
        if (query) return;
        fail(CKR_BUFFER_TOO_SMALL);
    }
    op->digest->update(last, last_len);
    const Bytes h = op->digest->finish();
    std::memcpy(out, h.data(), h.size());
    *out_len = h.size();
}
}  // namespace

void digest(CK_SESSION_HANDLE handle, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
    finish_digest(handle, data, len, out, out_len, false);
}

void digest_update(CK_SESSION_HANDLE handle, CK_BYTE_PTR data, CK_ULONG len) {
    auto st = state();
    std::lock_guard<Mutex> lock(*st->mutex);
    Session& s = st->sessions.get(handle);
    if (!s.digest) fail(CKR_OPERATION_NOT_INITIALIZED);
    auto op = std::move(s.digest);  // back only if the update succeeds
    if (!data && len) fail(CKR_ARGUMENTS_BAD);
    op->digest->update(data, len);
    op->multipart = true;
    s.digest = std::move(op);
}

void digest_key(CK_SESSION_HANDLE handle) {
    auto st = state();
    std::lock_guard<Mutex> lock(*st->mutex);
    Session& s = st->sessions.get(handle);
    if (!s.digest) fail(CKR_OPERATION_NOT_INITIALIZED);
    s.digest.reset();  // an error ends the digest (PKCS#11 2.40 5.10)
    fail(CKR_KEY_INDIGESTIBLE);
}

void digest_final(CK_SESSION_HANDLE handle, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
    finish_digest(handle, nullptr, 0, out, out_len, true);
}

}  // namespace jpki::p11
