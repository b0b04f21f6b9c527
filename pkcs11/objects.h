// The fixed objects of a JPKI token, from two tables: kObjectRows (objects.cpp) says which
// objects each token has (kind, class, label, CKA_ID, who may see it), kAttributeRows which
// attributes each kind of object carries and where each value comes from (a certificate, the
// key's profile, the mechanisms) or that it is sensitive. The objects are built from the
// tables once per card insertion (and again when the signature certificate is read or PSS is
// given up); C_FindObjects and C_GetAttributeValue work on what was built. Handles are
// derived from the slot and the object's kind, so they are stable and never 0.
#pragma once

#include "card/jpki_profile.h"
#include "common/bytes.h"
#include "crypto/certificate.h"
#include "pkcs11/pkcs11.h"
#include "pkcs11/token_role.h"

#include <map>
#include <set>
#include <vector>

namespace jpki::p11 {

enum class ObjectKind { UserCert = 0, CaCert = 1, PublicKey = 2, PrivateKey = 3 };

struct Object {
    CK_OBJECT_HANDLE handle = 0;
    ObjectKind kind = ObjectKind::UserCert;
    bool is_private = false;  // invisible until C_Login
    std::map<CK_ATTRIBUTE_TYPE, Bytes> attributes;
    std::set<CK_ATTRIBUTE_TYPE> sensitive;  // exist, but are never revealed
};

CK_OBJECT_HANDLE object_handle(CK_SLOT_ID slot, ObjectKind kind);
// Slot and kind of a handle; false for a handle that is not one of ours.
bool decode_handle(CK_OBJECT_HANDLE handle, CK_SLOT_ID& slot, ObjectKind& kind);

// The certificates a token's objects come from; the user's is null while it cannot be read
// (the signature certificate before login): then only the CA certificate's object exists.
struct TokenCertificates {
    const crypto::CertificateInfo* user = nullptr;
    const crypto::CertificateInfo* ca = nullptr;
};

// A token's objects, from the tables.
std::vector<Object> token_objects(CK_SLOT_ID slot, TokenRole role, const TokenCertificates& certs, const KeyInfo& key,
                                  const std::vector<CK_MECHANISM_TYPE>& mechanisms);

// Encodings of attribute values.
Bytes attr_ulong(CK_ULONG v);
Bytes attr_bool(bool v);

}  // namespace jpki::p11
