#include "pkcs11/objects.h"

#include <openssl/sha.h>

#include <cstring>

namespace jpki::p11 {

namespace {

// CKA_ID of each object, as OpenSC's JPKI emulation numbers them: applications that met the
// card through OpenSC find the same IDs.
const std::uint8_t kIdAuthPair = 0x01, kIdSignPair = 0x02, kIdAuthCa = 0x03, kIdSignCa = 0x04;

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

// CK_DATE: "YYYYMMDD" as 8 characters; empty when unknown.
Bytes date(const std::string& yyyymmdd) { return yyyymmdd.size() == 8 ? text(yyyymmdd) : Bytes{}; }

Bytes check_value(const Bytes& der) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(der.data(), der.size(), digest);
    return Bytes(digest, digest + 3);
}

const char* role_name(TokenRole role) { return role == TokenRole::Auth ? "Authentication" : "Digital Signature"; }

void common_storage(Object& o, CK_OBJECT_CLASS cls, const std::string& label, std::uint8_t id) {
    o.attributes[CKA_CLASS] = attr_ulong(cls);
    o.attributes[CKA_TOKEN] = attr_bool(true);
    o.attributes[CKA_PRIVATE] = attr_bool(o.is_private);
    o.attributes[CKA_MODIFIABLE] = attr_bool(false);
    o.attributes[CKA_COPYABLE] = attr_bool(false);
    o.attributes[CKA_DESTROYABLE] = attr_bool(false);
    o.attributes[CKA_LABEL] = text(label);
    o.attributes[CKA_ID] = Bytes{id};
}

Object certificate_object(CK_SLOT_ID slot, ObjectKind kind, bool is_private, const std::string& label,
                          std::uint8_t id, CK_ULONG category, const crypto::CertificateInfo& c) {
    Object o;
    o.handle = object_handle(slot, kind);
    o.kind = kind;
    o.is_private = is_private;
    common_storage(o, CKO_CERTIFICATE, label, id);
    o.attributes[CKA_CERTIFICATE_TYPE] = attr_ulong(CKC_X_509);
    o.attributes[CKA_TRUSTED] = attr_bool(false);
    o.attributes[CKA_CERTIFICATE_CATEGORY] = attr_ulong(category);
    o.attributes[CKA_CHECK_VALUE] = check_value(c.der);
    o.attributes[CKA_START_DATE] = date(c.not_before);
    o.attributes[CKA_END_DATE] = date(c.not_after);
    o.attributes[CKA_PUBLIC_KEY_INFO] = c.public_key_info;
    o.attributes[CKA_SUBJECT] = c.subject;
    o.attributes[CKA_ISSUER] = c.issuer;
    o.attributes[CKA_SERIAL_NUMBER] = c.serial_number;
    o.attributes[CKA_VALUE] = c.der;
    o.attributes[CKA_URL] = Bytes{};
    o.attributes[CKA_HASH_OF_SUBJECT_PUBLIC_KEY] = c.public_key_sha1;
    o.attributes[CKA_HASH_OF_ISSUER_PUBLIC_KEY] = Bytes{};
    o.attributes[CKA_JAVA_MIDP_SECURITY_DOMAIN] = attr_ulong(0);
    o.attributes[CKA_NAME_HASH_ALGORITHM] = attr_ulong(CKM_SHA_1);
    return o;
}

void key_common(Object& o, const crypto::CertificateInfo& c, const std::vector<CK_MECHANISM_TYPE>& mechanisms) {
    o.attributes[CKA_KEY_TYPE] = attr_ulong(CKK_RSA);
    o.attributes[CKA_START_DATE] = date(c.not_before);
    o.attributes[CKA_END_DATE] = date(c.not_after);
    o.attributes[CKA_DERIVE] = attr_bool(false);
    o.attributes[CKA_LOCAL] = attr_bool(false);
    o.attributes[CKA_KEY_GEN_MECHANISM] = attr_ulong(CK_UNAVAILABLE_INFORMATION);
    Bytes mechs(mechanisms.size() * sizeof(CK_MECHANISM_TYPE));
    if (!mechanisms.empty()) std::memcpy(mechs.data(), mechanisms.data(), mechs.size());
    o.attributes[CKA_ALLOWED_MECHANISMS] = mechs;
    o.attributes[CKA_SUBJECT] = c.subject;
    o.attributes[CKA_MODULUS] = c.modulus;
    o.attributes[CKA_PUBLIC_EXPONENT] = c.public_exponent;
    o.attributes[CKA_PUBLIC_KEY_INFO] = c.public_key_info;
}

}  // namespace

Bytes attr_ulong(CK_ULONG v) {
    Bytes b(sizeof v);
    std::memcpy(b.data(), &v, sizeof v);
    return b;
}

Bytes attr_bool(bool v) { return Bytes{static_cast<std::uint8_t>(v ? CK_TRUE : CK_FALSE)}; }

CK_OBJECT_HANDLE object_handle(CK_SLOT_ID slot, ObjectKind kind) {
    return (slot << 4) | (static_cast<CK_OBJECT_HANDLE>(kind) + 1);
}

bool decode_handle(CK_OBJECT_HANDLE handle, CK_SLOT_ID& slot, ObjectKind& kind) {
    const CK_OBJECT_HANDLE k = handle & 0x0F;
    if (k < 1 || k > 4) return false;
    slot = handle >> 4;
    kind = static_cast<ObjectKind>(k - 1);
    return true;
}

Object make_ca_object(CK_SLOT_ID slot, TokenRole role, const crypto::CertificateInfo& ca) {
    return certificate_object(slot, ObjectKind::CaCert, false, std::string(role_name(role)) + " CA Certificate",
                              role == TokenRole::Auth ? kIdAuthCa : kIdSignCa, 2 /* authority */, ca);
}

std::vector<Object> make_key_objects(CK_SLOT_ID slot, TokenRole role, const crypto::CertificateInfo& user,
                                     const std::vector<CK_MECHANISM_TYPE>& mechanisms) {
    // The signature certificate carries name, address, birth date and sex: private, like its
    // public key (from which the certificate could be found).
    const bool personal = role == TokenRole::Sign;
    const std::uint8_t id = role == TokenRole::Auth ? kIdAuthPair : kIdSignPair;
    const std::string name = role_name(role);
    std::vector<Object> out;
    out.push_back(certificate_object(slot, ObjectKind::UserCert, personal, name + " Certificate", id,
                                     1 /* token user */, user));

    Object pub;
    pub.handle = object_handle(slot, ObjectKind::PublicKey);
    pub.kind = ObjectKind::PublicKey;
    pub.is_private = personal;
    common_storage(pub, CKO_PUBLIC_KEY, name + " Key", id);
    key_common(pub, user, mechanisms);
    pub.attributes[CKA_ENCRYPT] = attr_bool(false);
    pub.attributes[CKA_VERIFY] = attr_bool(true);
    pub.attributes[CKA_VERIFY_RECOVER] = attr_bool(false);
    pub.attributes[CKA_WRAP] = attr_bool(false);
    pub.attributes[CKA_TRUSTED] = attr_bool(false);
    pub.attributes[CKA_MODULUS_BITS] = attr_ulong(user.modulus_bits);
    out.push_back(pub);

    Object priv;
    priv.handle = object_handle(slot, ObjectKind::PrivateKey);
    priv.kind = ObjectKind::PrivateKey;
    priv.is_private = true;
    common_storage(priv, CKO_PRIVATE_KEY, name + " Key", id);
    key_common(priv, user, mechanisms);
    priv.attributes[CKA_SENSITIVE] = attr_bool(true);
    priv.attributes[CKA_DECRYPT] = attr_bool(false);
    priv.attributes[CKA_SIGN] = attr_bool(true);
    priv.attributes[CKA_SIGN_RECOVER] = attr_bool(false);
    priv.attributes[CKA_UNWRAP] = attr_bool(false);
    priv.attributes[CKA_EXTRACTABLE] = attr_bool(false);
    priv.attributes[CKA_ALWAYS_SENSITIVE] = attr_bool(true);
    priv.attributes[CKA_NEVER_EXTRACTABLE] = attr_bool(true);
    priv.attributes[CKA_WRAP_WITH_TRUSTED] = attr_bool(false);
    // A legal signature takes the PIN each time.
    priv.attributes[CKA_ALWAYS_AUTHENTICATE] = attr_bool(role == TokenRole::Sign);
    for (CK_ATTRIBUTE_TYPE t : {CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2,
                                CKA_COEFFICIENT}) {
        priv.attributes[t] = Bytes{};
        priv.sensitive.insert(t);
    }
    out.push_back(priv);
    return out;
}

}  // namespace jpki::p11
