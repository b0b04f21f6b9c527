// C_DigestInit, C_Digest, C_DigestUpdate, C_DigestKey, C_DigestFinal: in software.
#include "pkcs11/functions.h"
#include "pkcs11/hashed_input.h"
#include "pkcs11/output.h"

#include <cstring>

namespace jpki::p11 {

namespace {

// Writes the hash of a digest operation out under the buffer-length rules; `last` is the data
// of a single-part C_Digest (none for C_DigestFinal).
Operation finish_digest(DigestOperation& op, CK_BYTE_PTR last, CK_ULONG last_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
    if (!has_room(out, out_len, crypto::hash_size(op.digest->alg()))) return Operation::Continues;
    op.digest->update(last, last_len);
    const Bytes h = op.digest->finish();
    std::memcpy(out, h.data(), h.size());
    *out_len = h.size();
    return Operation::Ends;
}

}  // namespace

void digest_init(CK_SESSION_HANDLE handle, CK_MECHANISM_PTR mechanism) {
    state();
    require_args(mechanism != nullptr);
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        const Mechanism* m = find_mechanism(mechanism->mechanism);
        if (!m || m->family != MechFamily::Digest) fail(CKR_MECHANISM_INVALID);
        auto op = std::make_shared<DigestOperation>();
        op->digest.emplace(*m->hash);
        begin_operation(c, &Session::digest, std::move(op));
    });
}

void digest(CK_SESSION_HANDLE handle, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
    state();
    require_operation_args(out_len && (data || !len), handle, &Session::digest);
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        with_operation(c, &Session::digest, [&](DigestOperation& op) {
            require_single_part(op);
            return finish_digest(op, data, len, out, out_len);
        });
    });
}

void digest_update(CK_SESSION_HANDLE handle, CK_BYTE_PTR data, CK_ULONG len) {
    update_hashed_input(handle, &Session::digest, data, len);
}

void digest_key(CK_SESSION_HANDLE handle) {
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        // No key of these tokens can be digested (the private keys never leave the card); the
        // error ends the digest (PKCS#11 2.40 5.10).
        with_operation(c, &Session::digest, [](DigestOperation&) -> Operation { fail(CKR_KEY_INDIGESTIBLE); });
    });
}

void digest_final(CK_SESSION_HANDLE handle, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
    state();
    require_operation_args(out_len != nullptr, handle, &Session::digest);
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        with_operation(c, &Session::digest,
                       [&](DigestOperation& op) { return finish_digest(op, nullptr, 0, out, out_len); });
    });
}

}  // namespace jpki::p11
