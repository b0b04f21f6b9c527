#include "pkcs11/objects.h"

#include "crypto/digest.h"

#include <cstring>

namespace jpki::p11 {

namespace {

// Who may see an object.
enum class Visibility {
    Public,     // before login too
    AfterLogin  // a private object (CKA_PRIVATE): invisible until C_Login
};

// One object of a token.
struct ObjectRow {
    TokenRole role;
    ObjectKind kind;
    CK_OBJECT_CLASS object_class;
    const char* label;
    std::uint8_t id;  // CKA_ID, as OpenSC's JPKI emulation numbers them, so applications that
                      // met the card through OpenSC find the same IDs
    Visibility visibility;
    CK_ULONG certificate_category;  // certificates only
};

// The signature certificate carries the holder's name, address, birth date and sex: private,
// like its public key (from which the certificate could be found). The CA certificates are
// public on both tokens; the private keys are private. C_FindObjects answers in this order.
constexpr ObjectRow kObjectRows[] = {
    {TokenRole::Auth, ObjectKind::CaCert, CKO_CERTIFICATE, "Authentication CA Certificate", 0x03, Visibility::Public,
     CK_CERTIFICATE_CATEGORY_AUTHORITY},
    {TokenRole::Auth, ObjectKind::UserCert, CKO_CERTIFICATE, "Authentication Certificate", 0x01, Visibility::Public,
     CK_CERTIFICATE_CATEGORY_TOKEN_USER},
    {TokenRole::Auth, ObjectKind::PublicKey, CKO_PUBLIC_KEY, "Authentication Key", 0x01, Visibility::Public, 0},
    {TokenRole::Auth, ObjectKind::PrivateKey, CKO_PRIVATE_KEY, "Authentication Key", 0x01, Visibility::AfterLogin, 0},
    {TokenRole::Sign, ObjectKind::CaCert, CKO_CERTIFICATE, "Digital Signature CA Certificate", 0x04, Visibility::Public,
     CK_CERTIFICATE_CATEGORY_AUTHORITY},
    {TokenRole::Sign, ObjectKind::UserCert, CKO_CERTIFICATE, "Digital Signature Certificate", 0x02,
     Visibility::AfterLogin, CK_CERTIFICATE_CATEGORY_TOKEN_USER},
    {TokenRole::Sign, ObjectKind::PublicKey, CKO_PUBLIC_KEY, "Digital Signature Key", 0x02, Visibility::AfterLogin, 0},
    {TokenRole::Sign, ObjectKind::PrivateKey, CKO_PRIVATE_KEY, "Digital Signature Key", 0x02, Visibility::AfterLogin,
     0},
};

// What an attribute value is computed from.
struct Source {
    const ObjectRow& row;
    const crypto::CertificateInfo& cert;  // the object's certificate (the user's for keys)
    const KeyInfo& key;
    const std::vector<CK_MECHANISM_TYPE>& mechanisms;
};
using ValueFn = Bytes (*)(const Source&);

// The kinds of object an attribute belongs to, as a bit set.
using Kinds = unsigned;
constexpr Kinds bit(ObjectKind k) { return 1u << static_cast<unsigned>(k); }
constexpr Kinds kCerts = bit(ObjectKind::UserCert) | bit(ObjectKind::CaCert);
constexpr Kinds kPublicKey = bit(ObjectKind::PublicKey);
constexpr Kinds kPrivateKey = bit(ObjectKind::PrivateKey);
constexpr Kinds kKeys = kPublicKey | kPrivateKey;
constexpr Kinds kAll = kCerts | kKeys;

enum class Secrecy {
    Readable,
    Sensitive  // exists, never revealed (CKR_ATTRIBUTE_SENSITIVE): the card's secret key parts
};

struct AttributeRow {
    CK_ATTRIBUTE_TYPE type;
    Kinds kinds;
    ValueFn value;
    Secrecy secrecy = Secrecy::Readable;
};

template <bool V>
Bytes flag(const Source&) {
    return attr_bool(V);
}
template <CK_ULONG V>
Bytes number(const Source&) {
    return attr_ulong(V);
}
Bytes nothing(const Source&) { return Bytes{}; }
Bytes text(const char* s) { return Bytes(s, s + std::strlen(s)); }
// CK_DATE: "YYYYMMDD" as 8 characters; empty when unknown.
Bytes date(const std::string& yyyymmdd) {
    return yyyymmdd.size() == 8 ? Bytes(yyyymmdd.begin(), yyyymmdd.end()) : Bytes{};
}
Bytes mechanism_list(const std::vector<CK_MECHANISM_TYPE>& m) {
    Bytes out(m.size() * sizeof(CK_MECHANISM_TYPE));
    if (!m.empty()) std::memcpy(out.data(), m.data(), out.size());
    return out;
}

// PKCS#11 2.40 sections 4.4-4.9 and 2.1 (RSA), for a read-only token whose keys never leave
// the card.
const AttributeRow kAttributeRows[] = {
    // Storage objects (4.4)
    {CKA_CLASS, kAll, [](const Source& s) { return attr_ulong(s.row.object_class); }},
    {CKA_TOKEN, kAll, flag<true>},
    {CKA_PRIVATE, kAll, [](const Source& s) { return attr_bool(s.row.visibility == Visibility::AfterLogin); }},
    {CKA_MODIFIABLE, kAll, flag<false>},
    {CKA_COPYABLE, kAll, flag<false>},
    {CKA_DESTROYABLE, kAll, flag<false>},
    {CKA_LABEL, kAll, [](const Source& s) { return text(s.row.label); }},
    {CKA_ID, kAll, [](const Source& s) { return Bytes{s.row.id}; }},
    // Certificates (4.6) and X.509 certificates (4.6.3)
    {CKA_CERTIFICATE_TYPE, kCerts, number<CKC_X_509>},
    {CKA_TRUSTED, kCerts | kPublicKey, flag<false>},
    {CKA_CERTIFICATE_CATEGORY, kCerts, [](const Source& s) { return attr_ulong(s.row.certificate_category); }},
    // The first three bytes of the certificate's SHA-1.
    {CKA_CHECK_VALUE, kCerts,
     [](const Source& s) {
         Bytes h = crypto::hash(crypto::HashAlg::Sha1, s.cert.der.data(), s.cert.der.size());
         h.resize(3);
         return h;
     }},
    {CKA_START_DATE, kAll, [](const Source& s) { return date(s.cert.not_before); }},
    {CKA_END_DATE, kAll, [](const Source& s) { return date(s.cert.not_after); }},
    {CKA_PUBLIC_KEY_INFO, kAll, [](const Source& s) { return s.cert.public_key_info; }},
    {CKA_SUBJECT, kAll, [](const Source& s) { return s.cert.subject; }},
    {CKA_ISSUER, kCerts, [](const Source& s) { return s.cert.issuer; }},
    {CKA_SERIAL_NUMBER, kCerts, [](const Source& s) { return s.cert.serial_number; }},
    {CKA_VALUE, kCerts, [](const Source& s) { return s.cert.der; }},
    {CKA_URL, kCerts, nothing},
    {CKA_HASH_OF_SUBJECT_PUBLIC_KEY, kCerts, [](const Source& s) { return s.cert.public_key_sha1; }},
    {CKA_HASH_OF_ISSUER_PUBLIC_KEY, kCerts, nothing},
    {CKA_JAVA_MIDP_SECURITY_DOMAIN, kCerts, number<0>},
    {CKA_NAME_HASH_ALGORITHM, kCerts, number<CKM_SHA_1>},
    // Keys (4.7), RSA keys (2.1.2, 2.1.3)
    {CKA_KEY_TYPE, kKeys, number<CKK_RSA>},
    {CKA_DERIVE, kKeys, flag<false>},
    {CKA_LOCAL, kKeys, flag<false>},
    {CKA_KEY_GEN_MECHANISM, kKeys, number<CK_UNAVAILABLE_INFORMATION>},
    {CKA_ALLOWED_MECHANISMS, kKeys, [](const Source& s) { return mechanism_list(s.mechanisms); }},
    {CKA_MODULUS, kKeys, [](const Source& s) { return s.cert.modulus; }},
    {CKA_PUBLIC_EXPONENT, kKeys, [](const Source& s) { return s.cert.public_exponent; }},
    // Public keys (4.8)
    {CKA_ENCRYPT, kPublicKey, flag<false>},
    {CKA_VERIFY, kPublicKey, flag<true>},
    {CKA_VERIFY_RECOVER, kPublicKey, flag<false>},
    {CKA_WRAP, kPublicKey, flag<false>},
    {CKA_MODULUS_BITS, kPublicKey, [](const Source& s) { return attr_ulong(s.cert.modulus_bits); }},
    // Private keys (4.9): they sign, on the card, and nothing else.
    {CKA_SENSITIVE, kPrivateKey, flag<true>},
    {CKA_DECRYPT, kPrivateKey, flag<false>},
    {CKA_SIGN, kPrivateKey, flag<true>},
    {CKA_SIGN_RECOVER, kPrivateKey, flag<false>},
    {CKA_UNWRAP, kPrivateKey, flag<false>},
    {CKA_EXTRACTABLE, kPrivateKey, flag<false>},
    {CKA_ALWAYS_SENSITIVE, kPrivateKey, flag<true>},
    {CKA_NEVER_EXTRACTABLE, kPrivateKey, flag<true>},
    {CKA_WRAP_WITH_TRUSTED, kPrivateKey, flag<false>},
    // A legally binding signature takes the PIN each time.
    {CKA_ALWAYS_AUTHENTICATE, kPrivateKey, [](const Source& s) { return attr_bool(s.key.pin_each_signature); }},
    {CKA_PRIVATE_EXPONENT, kPrivateKey, nothing, Secrecy::Sensitive},
    {CKA_PRIME_1, kPrivateKey, nothing, Secrecy::Sensitive},
    {CKA_PRIME_2, kPrivateKey, nothing, Secrecy::Sensitive},
    {CKA_EXPONENT_1, kPrivateKey, nothing, Secrecy::Sensitive},
    {CKA_EXPONENT_2, kPrivateKey, nothing, Secrecy::Sensitive},
    {CKA_COEFFICIENT, kPrivateKey, nothing, Secrecy::Sensitive},
};

Object build(CK_SLOT_ID slot, const Source& source) {
    Object o;
    o.handle = object_handle(slot, source.row.kind);
    o.kind = source.row.kind;
    o.is_private = source.row.visibility == Visibility::AfterLogin;
    for (const AttributeRow& a : kAttributeRows) {
        if (!(a.kinds & bit(source.row.kind))) continue;
        o.attributes[a.type] = a.value(source);
        if (a.secrecy == Secrecy::Sensitive) o.sensitive.insert(a.type);
    }
    return o;
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

std::vector<Object> token_objects(CK_SLOT_ID slot, TokenRole role, const TokenCertificates& certs, const KeyInfo& key,
                                  const std::vector<CK_MECHANISM_TYPE>& mechanisms) {
    std::vector<Object> out;
    for (const ObjectRow& row : kObjectRows) {
        if (row.role != role) continue;
        const crypto::CertificateInfo* cert = row.kind == ObjectKind::CaCert ? certs.ca : certs.user;
        if (!cert) continue;
        out.push_back(build(slot, Source{row, *cert, key, mechanisms}));
    }
    return out;
}

}  // namespace jpki::p11
