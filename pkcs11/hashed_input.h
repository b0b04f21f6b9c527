// The C_SignUpdate / C_VerifyUpdate / C_DigestUpdate rule, once: the data goes into the
// operation's hash; single-part mechanisms (CKM_RSA_PKCS, CKM_RSA_PKCS_PSS) take no parts.
#pragma once

#include "pkcs11/call.h"
#include "pkcs11/operations.h"

namespace jpki::p11 {

template <typename Op>
void update_hashed_input(CK_SESSION_HANDLE handle, std::shared_ptr<Op> Session::*member, CK_BYTE_PTR data,
                         CK_ULONG len) {
    state();
    require_operation_args(data || !len, handle, member);
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        with_operation(c, member, [&](Op& op) {
            if (!op.digest) fail(CKR_FUNCTION_NOT_SUPPORTED);
            op.digest->update(data, len);
            op.multipart = true;
            return Operation::Continues;
        });
    });
}

// C_Sign/C_Verify/C_Digest after an update is refused (CKR_OPERATION_ACTIVE).
inline void require_single_part(const HashedInput& op) {
    if (op.multipart) fail(CKR_OPERATION_ACTIVE);
}
// The Final calls: only mechanisms that hash take parts (CKR_FUNCTION_NOT_SUPPORTED).
inline void require_multi_part(const HashedInput& op) {
    if (!op.digest) fail(CKR_FUNCTION_NOT_SUPPORTED);
}

// The whole input of a single-part call: hashed when the mechanism hashes, else as given.
inline Bytes whole_input(HashedInput& op, CK_BYTE_PTR data, CK_ULONG len) {
    Bytes input = data ? Bytes(data, data + len) : Bytes{};
    if (!op.digest) return input;
    op.digest->update(input.data(), input.size());
    return op.digest->finish();
}

}  // namespace jpki::p11
