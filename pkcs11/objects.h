// The fixed objects of a JPKI token, described by a table and built once from its
// certificates: the user certificate, its CA certificate, the public key and the private key.
// Handles are derived from the slot and the object's kind, so they are stable and never 0.
#pragma once

#include "card/bytes.h"
#include "crypto/certificate.h"
#include "pkcs11/card_state.h"
#include "pkcs11/pkcs11.h"

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

// The CA certificate object (readable without any PIN).
Object make_ca_object(CK_SLOT_ID slot, TokenRole role, const crypto::CertificateInfo& ca);
// The user certificate, public key and private key objects.
std::vector<Object> make_key_objects(CK_SLOT_ID slot, TokenRole role, const crypto::CertificateInfo& user,
                                     const std::vector<CK_MECHANISM_TYPE>& mechanisms);

// Encodings of attribute values.
Bytes attr_ulong(CK_ULONG v);
Bytes attr_bool(bool v);

}  // namespace jpki::p11
