// Objects, attributes, mechanisms, signatures, verification and digests through the C
// function list of the test module, against in-process simulated cards. Every expectation is
// an exact value or CK_RV; certificates and signatures are checked with OpenSSL.
#include "test/module/module_fixture.h"

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace jpki;
using namespace jpki::test;

namespace {

// --- certificates and signatures, with OpenSSL ---------------------------------------------

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

X509Ptr parse_x509(const Bytes& der) {
    const unsigned char* p = der.data();
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
    REQUIRE(cert != nullptr);
    return cert;
}

// The DER encoding of a part of a certificate, by its OpenSSL i2d function.
template <class T>
Bytes der_of(const T* part, int (*i2d)(const T*, unsigned char**)) {
    const int len = i2d(part, nullptr);
    REQUIRE(len > 0);
    Bytes out(static_cast<std::size_t>(len));
    unsigned char* p = out.data();
    REQUIRE(i2d(part, &p) == len);
    return out;
}

Bytes cert_subject(const Bytes& der) {
    return der_of(X509_get_subject_name(parse_x509(der).get()), i2d_X509_NAME);
}
Bytes cert_issuer(const Bytes& der) {
    return der_of(X509_get_issuer_name(parse_x509(der).get()), i2d_X509_NAME);
}
Bytes cert_serial(const Bytes& der) {
    return der_of(X509_get0_serialNumber(parse_x509(der).get()), i2d_ASN1_INTEGER);
}

Bytes cert_modulus(const Bytes& der) {
    X509Ptr cert = parse_x509(der);
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    REQUIRE(key != nullptr);
    BIGNUM* n = nullptr;
    REQUIRE(EVP_PKEY_get_bn_param(key, "n", &n) == 1);
    Bytes out(static_cast<std::size_t>(BN_num_bytes(n)));
    BN_bn2bin(n, out.data());
    BN_free(n);
    return out;
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes cert_public_key_info(const Bytes& der) {
    return der_of(X509_get_X509_PUBKEY(parse_x509(der).get()), i2d_X509_PUBKEY);
}

// SHA-1 of the subjectPublicKey BIT STRING's value (the OCSP key hash).
Bytes cert_key_sha1(const Bytes& der) {
    X509Ptr cert = parse_x509(der);
    const ASN1_BIT_STRING* bits = X509_get0_pubkey_bitstr(cert.get());
    REQUIRE(bits != nullptr);
    Bytes out(SHA_DIGEST_LENGTH);
    SHA1(bits->data, static_cast<std::size_t>(bits->length), out.data());
    return out;
}

// notBefore / notAfter as CK_DATE characters "YYYYMMDD".
Bytes cert_date(const Bytes& der, bool not_after) {
    X509Ptr cert = parse_x509(der);
    struct tm tm {};
    REQUIRE(ASN1_TIME_to_tm(not_after ? X509_get0_notAfter(cert.get()) : X509_get0_notBefore(cert.get()), &tm) == 1);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return text(buf);
}

// A hash-and-sign PKCS#1 v1.5 signature over `data`, checked the way any application would.
bool verify_md(const Bytes& cert_der, const EVP_MD* md, const Bytes& data, const Bytes& sig) {
    X509Ptr cert = parse_x509(cert_der);
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    if (!key) return false;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) != 1) return false;
    return EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), data.data(), data.size()) == 1;
}

Bytes md_hash(const EVP_MD* md, const Bytes& data) {
    Bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
    unsigned int len = 0;
    REQUIRE(EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) == 1);
    REQUIRE(len == out.size());
    return out;
}

Bytes sha1(const Bytes& data) { return md_hash(EVP_sha1(), data); }

Bytes pki_file(int card, const std::string& name) { return read_file(pki_card_dir(card) + "/" + name); }

// --- attribute values and templates -------------------------------------------------------

Bytes ul(CK_ULONG v) {
    Bytes b(sizeof v);
    std::memcpy(b.data(), &v, sizeof v);
    return b;
}
const Bytes kTrue{CK_TRUE};
const Bytes kFalse{CK_FALSE};

CK_BYTE_PTR ptr(const Bytes& b) { return const_cast<CK_BYTE_PTR>(b.data()); }

struct Attr {
    CK_ATTRIBUTE_TYPE type;
    Bytes value;
};

std::vector<CK_ATTRIBUTE> to_template(const std::vector<Attr>& attrs) {
    std::vector<CK_ATTRIBUTE> t;
    for (const Attr& a : attrs)
        t.push_back({a.type, a.value.empty() ? nullptr : ptr(a.value), a.value.size()});
    return t;
}

// Every handle a template finds, fetched `chunk` at a time until C_FindObjects gives 0.
std::vector<CK_OBJECT_HANDLE> search(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const std::vector<Attr>& attrs,
                                     CK_ULONG chunk = 3) {
    std::vector<CK_ATTRIBUTE> t = to_template(attrs);
    REQUIRE(f->C_FindObjectsInit(s, t.empty() ? nullptr : t.data(), t.size()) == CKR_OK);
    std::vector<CK_OBJECT_HANDLE> out;
    for (int round = 0;; ++round) {
        REQUIRE(round < 100);
        std::vector<CK_OBJECT_HANDLE> buf(chunk, CK_INVALID_HANDLE);
        CK_ULONG n = 12345;
        REQUIRE(f->C_FindObjects(s, buf.data(), chunk, &n) == CKR_OK);
        REQUIRE(n <= chunk);
        if (n == 0) break;
        out.insert(out.end(), buf.begin(), buf.begin() + static_cast<long>(n));
    }
    REQUIRE(f->C_FindObjectsFinal(s) == CKR_OK);
    return out;
}

// The single object of a class (fails unless there is exactly one).
CK_OBJECT_HANDLE only(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls) {
    auto found = search(f, s, {{CKA_CLASS, ul(cls)}});
    REQUIRE(found.size() == 1);
    return found[0];
}

// The certificate of a category (1 = token user, 2 = authority).
CK_OBJECT_HANDLE cert_of_category(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_ULONG category) {
    auto found = search(f, s, {{CKA_CLASS, ul(CKO_CERTIFICATE)}, {CKA_CERTIFICATE_CATEGORY, ul(category)}});
    REQUIRE(found.size() == 1);
    return found[0];
}

// The CK_RV and length a one-attribute length query gives.
CK_RV query(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
            CK_ULONG* len = nullptr) {
    CK_ATTRIBUTE a{type, nullptr, 0};
    const CK_RV rv = f->C_GetAttributeValue(s, o, &a, 1);
    if (len) *len = a.ulValueLen;
    return rv;
}

// One CHECK per attribute: the object's value of it is the one given.
void check_attributes(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                      const std::vector<Attr>& expected) {
    for (const Attr& a : expected) {
        INFO("attribute 0x" << std::hex << a.type);
        CHECK(attribute(f, s, o, a.type) == a.value);
    }
}

// A public certificate object: class, X.509 type, category and CKA_ID, not private, and its DER
// value with the subject and serial number OpenSSL reads from it.
void check_public_certificate(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE cert, CK_ULONG category,
                              const Bytes& id, const Bytes& der) {
    check_attributes(f, s, cert,
                     {{CKA_CLASS, ul(CKO_CERTIFICATE)},
                      {CKA_CERTIFICATE_TYPE, ul(CKC_X_509)},
                      {CKA_CERTIFICATE_CATEGORY, ul(category)},
                      {CKA_ID, id},
                      {CKA_PRIVATE, kFalse},
                      {CKA_VALUE, der},
                      {CKA_SUBJECT, cert_subject(der)},
                      {CKA_SERIAL_NUMBER, cert_serial(der)}});
}

// A handle the session does not know (any more): no attribute, no size.
void check_handle_invalid(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o) {
    CHECK(query(f, s, o, CKA_CLASS) == CKR_OBJECT_HANDLE_INVALID);
    CK_ULONG size = 0;
    CHECK(f->C_GetObjectSize(s, o, &size) == CKR_OBJECT_HANDLE_INVALID);
}

std::set<CK_MECHANISM_TYPE> mechanism_set(const Bytes& allowed) {
    REQUIRE(allowed.size() % sizeof(CK_MECHANISM_TYPE) == 0);
    std::vector<CK_MECHANISM_TYPE> v(allowed.size() / sizeof(CK_MECHANISM_TYPE));
    if (!v.empty()) std::memcpy(v.data(), allowed.data(), allowed.size());
    REQUIRE(std::set<CK_MECHANISM_TYPE>(v.begin(), v.end()).size() == v.size());  // no duplicates
    return std::set<CK_MECHANISM_TYPE>(v.begin(), v.end());
}

// --- mechanisms -------------------------------------------------------------------------------

const std::set<CK_MECHANISM_TYPE> kPkcs1Mechs = {CKM_RSA_PKCS, CKM_SHA1_RSA_PKCS, CKM_SHA224_RSA_PKCS,
                                                 CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS};
const std::set<CK_MECHANISM_TYPE> kPssMechs = {CKM_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS};
const std::set<CK_MECHANISM_TYPE> kDigestMechs = {CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384, CKM_SHA512};

std::set<CK_MECHANISM_TYPE> unite(std::set<CK_MECHANISM_TYPE> a, const std::set<CK_MECHANISM_TYPE>& b) {
    a.insert(b.begin(), b.end());
    return a;
}
const std::set<CK_MECHANISM_TYPE> kSignMechs = unite(kPkcs1Mechs, kPssMechs);

struct HashMech {
    CK_MECHANISM_TYPE sign;
    CK_MECHANISM_TYPE digest;
    const EVP_MD* (*md)();
};
const HashMech kSha256Pkcs1 = {CKM_SHA256_RSA_PKCS, CKM_SHA256, EVP_sha256};
const HashMech kHashMechs[] = {
    {CKM_SHA1_RSA_PKCS, CKM_SHA_1, EVP_sha1},      {CKM_SHA224_RSA_PKCS, CKM_SHA224, EVP_sha224}, kSha256Pkcs1,
    {CKM_SHA384_RSA_PKCS, CKM_SHA384, EVP_sha384}, {CKM_SHA512_RSA_PKCS, CKM_SHA512, EVP_sha512},
};

// A CK_MECHANISM with its PSS parameters kept alongside (non-copyable: it points into itself).
class Mech {
public:
    explicit Mech(CK_MECHANISM_TYPE type) : m_{type, nullptr, 0} {}
    Mech(CK_MECHANISM_TYPE type, CK_MECHANISM_TYPE hash, CK_RSA_PKCS_MGF_TYPE mgf, CK_ULONG salt)
        : pss_{hash, mgf, salt}, m_{type, &pss_, sizeof pss_} {}
    Mech(const Mech&) = delete;
    Mech& operator=(const Mech&) = delete;
    CK_MECHANISM* get() { return &m_; }

private:
    CK_RSA_PKCS_PSS_PARAMS pss_{};
    CK_MECHANISM m_;
};

// The only PSS parameters the card does.
struct PssMech : Mech {
    explicit PssMech(CK_MECHANISM_TYPE type) : Mech(type, CKM_SHA256, CKG_MGF1_SHA256, 32) {}
};

std::vector<CK_MECHANISM_TYPE> mechanism_list(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot) {
    CK_ULONG n = 0;
    REQUIRE(f->C_GetMechanismList(slot, nullptr, &n) == CKR_OK);
    std::vector<CK_MECHANISM_TYPE> list(n + 4, 0xFFFFFFFFUL);
    CK_ULONG m = list.size();
    REQUIRE(f->C_GetMechanismList(slot, list.data(), &m) == CKR_OK);
    REQUIRE(m == n);
    list.resize(m);
    return list;
}

std::set<CK_MECHANISM_TYPE> as_set(const std::vector<CK_MECHANISM_TYPE>& v) { return {v.begin(), v.end()}; }

// --- signing ----------------------------------------------------------------------------------

constexpr CK_ULONG kSigLen = 256;

CK_RV sign_rv(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_MECHANISM* m, CK_OBJECT_HANDLE key, const Bytes& data,
              Bytes* sig_out = nullptr) {
    const CK_RV init = f->C_SignInit(s, m, key);
    if (init != CKR_OK) return init;
    Bytes sig(kSigLen + 10, 0xEE);
    CK_ULONG len = sig.size();
    const CK_RV rv = f->C_Sign(s, ptr(data), data.size(), sig.data(), &len);
    if (rv == CKR_OK) {
        REQUIRE(len == kSigLen);
        sig.resize(len);
        if (sig_out) *sig_out = sig;
    }
    return rv;
}

Bytes sign(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_MECHANISM* m, CK_OBJECT_HANDLE key, const Bytes& data) {
    Bytes sig;
    REQUIRE(sign_rv(f, s, m, key, data, &sig) == CKR_OK);
    REQUIRE(sig.size() == kSigLen);
    return sig;
}

Bytes sign(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_MECHANISM_TYPE type, CK_OBJECT_HANDLE key,
           const Bytes& data) {
    Mech m(type);
    return sign(f, s, m.get(), key, data);
}

// A hash-and-sign PKCS#1 v1.5 signature over `data`, CHECKed with OpenSSL against `cert_der`.
Bytes sign_and_verify(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const HashMech& h, CK_OBJECT_HANDLE key,
                      const Bytes& data, const Bytes& cert_der) {
    const Bytes sig = sign(f, s, h.sign, key, data);
    CHECK(verify_md(cert_der, h.md(), data, sig));
    return sig;
}

// C_Sign without a C_SignInit of its own (whatever signing operation the session has, if any),
// into a kSigLen buffer; on CKR_OK the signature, of the length returned, goes to `sig_out`.
CK_RV sign_now(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const Bytes& data, Bytes* sig_out = nullptr) {
    Bytes sig(kSigLen);
    CK_ULONG len = sig.size();
    const CK_RV rv = f->C_Sign(s, ptr(data), data.size(), sig.data(), &len);
    if (rv == CKR_OK && sig_out) {
        sig.resize(len);
        *sig_out = sig;
    }
    return rv;
}

// C_SignInit, one C_SignUpdate per part (an empty one as NULL, 0) and C_SignFinal into a kSigLen
// buffer, each REQUIREd to succeed: the signature.
Bytes sign_in_parts(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_MECHANISM* m, CK_OBJECT_HANDLE key,
                    const std::vector<Bytes>& parts) {
    REQUIRE(f->C_SignInit(s, m, key) == CKR_OK);
    for (const Bytes& part : parts)
        REQUIRE(f->C_SignUpdate(s, part.empty() ? nullptr : ptr(part), part.size()) == CKR_OK);
    Bytes sig(kSigLen);
    CK_ULONG len = sig.size();
    REQUIRE(f->C_SignFinal(s, sig.data(), &len) == CKR_OK);
    sig.resize(len);
    return sig;
}

// C_SignInit with the signature key, then the C_Login(CKU_CONTEXT_SPECIFIC) it asks for before
// every signature; both REQUIREd to succeed.
void sign_init_with_pin(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_MECHANISM* m, CK_OBJECT_HANDLE key,
                        const std::string& pin) {
    REQUIRE(f->C_SignInit(s, m, key) == CKR_OK);
    REQUIRE(login(f, s, pin, CKU_CONTEXT_SPECIFIC) == CKR_OK);
}

Bytes message(std::size_t n, std::uint8_t seed = 1) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
    return b;
}

std::uint16_t sw_of(const Bytes& response) {
    REQUIRE(response.size() >= 2);
    return static_cast<std::uint16_t>(response[response.size() - 2] << 8 | response.back());
}

// What the card answers to a signature with the authentication key sent to it directly (no
// module in between): 6982 unless the authentication PIN is verified on the card right now.
std::uint16_t direct_auth_signature(sim::JpkiCard& card) {
    REQUIRE(sw_of(card.process(from_hex("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"))) == 0x9000);
    Bytes command = from_hex("80 2A 00 97 33");
    const Bytes di = sha256_digest_info(text("direct"));
    REQUIRE(di.size() == 0x33);
    command.insert(command.end(), di.begin(), di.end());
    command.push_back(0x00);
    return sw_of(card.process(command));
}

// The card holds no verified authentication PIN: by its own state, and as a signature sent to it
// directly finds.
void check_auth_pin_not_verified(sim::JpkiCard& card) {
    CHECK_FALSE(card.auth_verified());
    CHECK(direct_auth_signature(card) == 0x6982);
}

}  // namespace

// =============================================================================================
// 1. The authentication token's objects
// =============================================================================================

TEST_CASE("module: objects: the authentication token shows two certificates and the public key before login",
          "[objects]") {
    OneCard c;
    REQUIRE(c.slots.size() == 2);
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.auth_session();

    auto all = search(f, s, {});
    CHECK(all.size() == 3);
    CHECK(search(f, s, {{CKA_CLASS, ul(CKO_CERTIFICATE)}}).size() == 2);
    CHECK(search(f, s, {{CKA_CLASS, ul(CKO_PUBLIC_KEY)}}).size() == 1);
    CHECK(search(f, s, {{CKA_CLASS, ul(CKO_PRIVATE_KEY)}}).empty());
    for (CK_OBJECT_HANDLE h : all) CHECK(h != CK_INVALID_HANDLE);
    CHECK(std::set<CK_OBJECT_HANDLE>(all.begin(), all.end()).size() == all.size());

    const Bytes user_der = pki_file(1, "auth_cert.der");
    const Bytes ca_der = pki_file(1, "auth_ca.der");

    SECTION("the user certificate") {
        const CK_OBJECT_HANDLE cert = cert_of_category(f, s, 1);
        check_public_certificate(f, s, cert, 1, Bytes{0x01}, user_der);
        check_attributes(
            f, s, cert,
            {{CKA_TRUSTED, kFalse}, {CKA_TOKEN, kTrue}, {CKA_MODIFIABLE, kFalse}, {CKA_ISSUER, cert_issuer(user_der)}});
        const Bytes start = attribute(f, s, cert, CKA_START_DATE);
        const Bytes end = attribute(f, s, cert, CKA_END_DATE);
        CHECK(start.size() == 8);
        CHECK(end.size() == 8);
        CHECK(std::all_of(start.begin(), start.end(), [](std::uint8_t b) { return b >= '0' && b <= '9'; }));
        CHECK(start == cert_date(user_der, false));
        CHECK(end == cert_date(user_der, true));
        CHECK(start < end);
        // PKCS#11 2.40 4.6.3: the first three bytes of the SHA-1 hash of CKA_VALUE.
        const Bytes h = sha1(user_der);
        check_attributes(f, s, cert,
                         {{CKA_CHECK_VALUE, Bytes(h.begin(), h.begin() + 3)},
                          {CKA_PUBLIC_KEY_INFO, cert_public_key_info(user_der)},
                          {CKA_NAME_HASH_ALGORITHM, ul(CKM_SHA_1)},
                          {CKA_HASH_OF_SUBJECT_PUBLIC_KEY, cert_key_sha1(user_der)}});
    }

    SECTION("the CA certificate") {
        const CK_OBJECT_HANDLE ca = cert_of_category(f, s, 2);
        check_public_certificate(f, s, ca, 2, Bytes{0x03}, ca_der);
        // The user certificate was issued by this CA.
        CHECK(attribute(f, s, cert_of_category(f, s, 1), CKA_ISSUER) == cert_subject(ca_der));
    }

    SECTION("labels are non-empty and differ within a class") {
        const Bytes user_label = attribute(f, s, cert_of_category(f, s, 1), CKA_LABEL);
        const Bytes ca_label = attribute(f, s, cert_of_category(f, s, 2), CKA_LABEL);
        const Bytes key_label = attribute(f, s, only(f, s, CKO_PUBLIC_KEY), CKA_LABEL);
        CHECK_FALSE(user_label.empty());
        CHECK_FALSE(ca_label.empty());
        CHECK_FALSE(key_label.empty());
        CHECK(user_label != ca_label);
    }
}

TEST_CASE("module: objects: the authentication public key matches its certificate", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.auth_session();
    const Bytes user_der = pki_file(1, "auth_cert.der");

    const CK_OBJECT_HANDLE pub = only(f, s, CKO_PUBLIC_KEY);
    check_attributes(f, s, pub,
                     {{CKA_CLASS, ul(CKO_PUBLIC_KEY)},
                      {CKA_KEY_TYPE, ul(CKK_RSA)},
                      {CKA_MODULUS, cert_modulus(user_der)},
                      {CKA_PUBLIC_EXPONENT, Bytes{0x01, 0x00, 0x01}},
                      {CKA_MODULUS_BITS, ul(2048)},
                      {CKA_VERIFY, kTrue},
                      {CKA_ENCRYPT, kFalse},
                      {CKA_WRAP, kFalse},
                      {CKA_ID, Bytes{0x01}},
                      {CKA_TOKEN, kTrue},
                      {CKA_PRIVATE, kFalse},
                      {CKA_MODIFIABLE, kFalse},
                      {CKA_SUBJECT, cert_subject(user_der)},
                      {CKA_PUBLIC_KEY_INFO, cert_public_key_info(user_der)},
                      {CKA_LOCAL, kFalse},
                      {CKA_KEY_GEN_MECHANISM, ul(CK_UNAVAILABLE_INFORMATION)}});
    CHECK(attribute(f, s, pub, CKA_MODULUS).size() == 256);
    CHECK(mechanism_set(attribute(f, s, pub, CKA_ALLOWED_MECHANISMS)) == kSignMechs);

    // Before login there is no private key, and nothing of the signature token.
    CHECK(search(f, s, {{CKA_CLASS, ul(CKO_PRIVATE_KEY)}}).empty());
    CHECK(search(f, s, {{CKA_ID, Bytes{0x02}}}).empty());
}

TEST_CASE("module: objects: the authentication private key appears with C_Login and goes with C_Logout", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.auth_session();
    const Bytes user_der = pki_file(1, "auth_cert.der");

    CHECK(search(f, s, {{CKA_CLASS, ul(CKO_PRIVATE_KEY)}}).empty());
    REQUIRE(login(f, s, kAuthPin) == CKR_OK);
    CHECK_FALSE(c.card->auth_verified());  // the module locks the card again at once

    CHECK(search(f, s, {}).size() == 4);
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    const CK_OBJECT_HANDLE pub = only(f, s, CKO_PUBLIC_KEY);
    const CK_OBJECT_HANDLE cert = cert_of_category(f, s, 1);

    check_attributes(f, s, priv,
                     {{CKA_CLASS, ul(CKO_PRIVATE_KEY)},
                      {CKA_KEY_TYPE, ul(CKK_RSA)},
                      {CKA_SIGN, kTrue},
                      {CKA_DECRYPT, kFalse},
                      {CKA_UNWRAP, kFalse},
                      {CKA_DERIVE, kFalse},
                      {CKA_SIGN_RECOVER, kFalse},
                      {CKA_SENSITIVE, kTrue},
                      {CKA_ALWAYS_SENSITIVE, kTrue},
                      {CKA_NEVER_EXTRACTABLE, kTrue},
                      {CKA_EXTRACTABLE, kFalse},
                      {CKA_ALWAYS_AUTHENTICATE, kFalse},
                      {CKA_PRIVATE, kTrue},
                      {CKA_TOKEN, kTrue},
                      {CKA_MODIFIABLE, kFalse},
                      {CKA_MODULUS, cert_modulus(user_der)},
                      {CKA_PUBLIC_EXPONENT, Bytes{0x01, 0x00, 0x01}},
                      {CKA_SUBJECT, cert_subject(user_der)}});
    CHECK(mechanism_set(attribute(f, s, priv, CKA_ALLOWED_MECHANISMS)) == kSignMechs);

    // One pair: certificate, public key and private key share CKA_ID 01.
    CHECK(attribute(f, s, priv, CKA_ID) == Bytes{0x01});
    CHECK(attribute(f, s, pub, CKA_ID) == attribute(f, s, priv, CKA_ID));
    CHECK(attribute(f, s, cert, CKA_ID) == attribute(f, s, priv, CKA_ID));
    CHECK_FALSE(attribute(f, s, priv, CKA_LABEL).empty());

    // Login is the token's: another session sees the private key too.
    CK_SESSION_HANDLE s2 = c.auth_session();
    CHECK(search(f, s2, {{CKA_CLASS, ul(CKO_PRIVATE_KEY)}}) == std::vector<CK_OBJECT_HANDLE>{priv});

    REQUIRE(f->C_Logout(s) == CKR_OK);
    CHECK(search(f, s, {{CKA_CLASS, ul(CKO_PRIVATE_KEY)}}).empty());
    CHECK(search(f, s2, {}).size() == 3);
    check_handle_invalid(f, s, priv);
    // The public objects keep their handles.
    CHECK(query(f, s, pub, CKA_CLASS) == CKR_OK);
    CHECK(query(f, s, cert, CKA_CLASS) == CKR_OK);
}

// =============================================================================================
// 2. The signature token: everything but its CA certificate is private
// =============================================================================================

TEST_CASE("module: objects: the signature token shows only its CA certificate until login", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.sign_session();
    const Bytes sign_der = pki_file(1, "sign_cert.der");
    const Bytes sign_ca_der = pki_file(1, "sign_ca.der");

    auto before = search(f, s, {});
    REQUIRE(before.size() == 1);
    const CK_OBJECT_HANDLE ca = before[0];
    check_attributes(f, s, ca,
                     {{CKA_CLASS, ul(CKO_CERTIFICATE)},
                      {CKA_CERTIFICATE_CATEGORY, ul(2)},
                      {CKA_ID, Bytes{0x04}},
                      {CKA_PRIVATE, kFalse},
                      {CKA_VALUE, sign_ca_der}});
    CHECK(search(f, s, {{CKA_ID, Bytes{0x02}}}).empty());

    REQUIRE(login(f, s, kSignPin) == CKR_OK);
    CHECK_FALSE(c.card->sign_verified());
    CHECK(search(f, s, {}).size() == 4);
    const CK_OBJECT_HANDLE cert = cert_of_category(f, s, 1);
    const CK_OBJECT_HANDLE pub = only(f, s, CKO_PUBLIC_KEY);
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);

    check_attributes(f, s, cert,
                     {{CKA_VALUE, sign_der},
                      {CKA_SUBJECT, cert_subject(sign_der)},
                      {CKA_SERIAL_NUMBER, cert_serial(sign_der)},
                      {CKA_ISSUER, cert_subject(sign_ca_der)},
                      {CKA_PRIVATE, kTrue},
                      {CKA_ID, Bytes{0x02}}});
    check_attributes(f, s, pub, {{CKA_PRIVATE, kTrue}, {CKA_ID, Bytes{0x02}}, {CKA_MODULUS, cert_modulus(sign_der)}});
    check_attributes(f, s, priv,
                     {{CKA_PRIVATE, kTrue},
                      {CKA_ID, Bytes{0x02}},
                      {CKA_ALWAYS_AUTHENTICATE, kTrue},
                      {CKA_SIGN, kTrue},
                      {CKA_MODULUS, cert_modulus(sign_der)}});
    CHECK(attribute(f, s, cert, CKA_LABEL) != attribute(f, s, ca, CKA_LABEL));
    // The signature key is not the authentication key.
    CHECK(cert_modulus(sign_der) != cert_modulus(pki_file(1, "auth_cert.der")));

    REQUIRE(f->C_Logout(s) == CKR_OK);
    CHECK(search(f, s, {}) == std::vector<CK_OBJECT_HANDLE>{ca});
    for (CK_OBJECT_HANDLE h : {cert, pub, priv}) check_handle_invalid(f, s, h);
    CHECK(query(f, s, ca, CKA_CLASS) == CKR_OK);
    CHECK(search(f, s, {{CKA_VALUE, sign_der}}).empty());
}

// =============================================================================================
// 3. C_FindObjects
// =============================================================================================

TEST_CASE("module: objects: C_FindObjectsInit matches a template on any attribute", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.auth_session();
    const CK_OBJECT_HANDLE cert = cert_of_category(f, s, 1);
    const CK_OBJECT_HANDLE ca = cert_of_category(f, s, 2);
    const CK_OBJECT_HANDLE pub = only(f, s, CKO_PUBLIC_KEY);
    auto sorted = [](std::vector<CK_OBJECT_HANDLE> v) {
        std::sort(v.begin(), v.end());
        return v;
    };

    SECTION("CKA_ID") {
        CHECK(sorted(search(f, s, {{CKA_ID, Bytes{0x01}}})) == sorted({cert, pub}));
        CHECK(search(f, s, {{CKA_ID, Bytes{0x03}}}) == std::vector<CK_OBJECT_HANDLE>{ca});
        REQUIRE(login(f, s, kAuthPin) == CKR_OK);
        const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
        CHECK(sorted(search(f, s, {{CKA_ID, Bytes{0x01}}})) == sorted({cert, pub, priv}));
        CHECK(search(f, s, {{CKA_ID, Bytes{0x01}}, {CKA_CLASS, ul(CKO_PRIVATE_KEY)}}) ==
              std::vector<CK_OBJECT_HANDLE>{priv});
    }
    SECTION("CKA_LABEL") {
        const Bytes label = attribute(f, s, cert, CKA_LABEL);
        CHECK(search(f, s, {{CKA_LABEL, label}}) == std::vector<CK_OBJECT_HANDLE>{cert});
        Bytes longer = label;
        longer.push_back('x');
        CHECK(search(f, s, {{CKA_LABEL, longer}}).empty());
        CHECK(search(f, s, {{CKA_LABEL, Bytes(label.begin(), label.end() - 1)}}).empty());
    }
    SECTION("CKA_CLASS and CKA_KEY_TYPE") {
        CHECK(search(f, s, {{CKA_CLASS, ul(CKO_PUBLIC_KEY)}, {CKA_KEY_TYPE, ul(CKK_RSA)}}) ==
              std::vector<CK_OBJECT_HANDLE>{pub});
        CHECK(search(f, s, {{CKA_CLASS, ul(CKO_PUBLIC_KEY)}, {CKA_KEY_TYPE, ul(CKK_EC)}}).empty());
        CHECK(search(f, s, {{CKA_CLASS, ul(CKO_SECRET_KEY)}}).empty());
        CHECK(search(f, s, {{CKA_CLASS, ul(CKO_DATA)}}).empty());
    }
    SECTION("CKA_VALUE of a certificate") {
        CHECK(search(f, s, {{CKA_VALUE, pki_file(1, "auth_cert.der")}}) == std::vector<CK_OBJECT_HANDLE>{cert});
        CHECK(search(f, s, {{CKA_VALUE, pki_file(1, "auth_ca.der")}}) == std::vector<CK_OBJECT_HANDLE>{ca});
        CHECK(search(f, s, {{CKA_VALUE, pki_file(2, "auth_cert.der")}}).empty());
    }
    SECTION("a template nothing matches") {
        CHECK(search(f, s, {{CKA_ID, Bytes{0x09}}}).empty());
        CHECK(search(f, s, {{CKA_ID, Bytes{0x02}}}).empty());
        CHECK(search(f, s, {{CKA_CLASS, ul(CKO_CERTIFICATE)}, {CKA_ID, Bytes{0x01}}, {CKA_TRUSTED, kTrue}}).empty());
        CHECK(search(f, s, {{CKA_ID, Bytes{0x01, 0x00}}}).empty());
    }
    SECTION("an attribute no object has") {
        CHECK(search(f, s, {{CKA_APPLICATION, text("jpki")}}).empty());
        CHECK(search(f, s, {{CKA_VALUE_LEN, ul(256)}}).empty());
        CHECK(search(f, s, {{CKA_CLASS, ul(CKO_CERTIFICATE)}, {0x80001234UL, Bytes{1}}}).empty());
    }
    SECTION("certificate category and empty values") {
        CHECK(search(f, s, {{CKA_CERTIFICATE_CATEGORY, ul(2)}}) == std::vector<CK_OBJECT_HANDLE>{ca});
        // CKA_URL is present and empty on both certificates: an empty value matches it.
        CHECK(sorted(search(f, s, {{CKA_URL, Bytes{}}})) == sorted({cert, ca}));
    }
    SECTION("the empty template finds every visible object") {
        CHECK(sorted(search(f, s, {})) == sorted({cert, ca, pub}));
        REQUIRE(login(f, s, kAuthPin) == CKR_OK);
        CHECK(search(f, s, {}).size() == 4);
    }
}

TEST_CASE("module: objects: C_FindObjects hands out each handle once and keeps its state rules", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();

    SECTION("chunks of one") {
        REQUIRE(f->C_FindObjectsInit(s, nullptr, 0) == CKR_OK);
        std::vector<CK_OBJECT_HANDLE> got;
        for (int i = 0; i < 4; ++i) {
            CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
            CK_ULONG n = 99;
            REQUIRE(f->C_FindObjects(s, &h, 1, &n) == CKR_OK);
            REQUIRE(n == 1);
            got.push_back(h);
        }
        CK_OBJECT_HANDLE h = 0x5A5A;
        CK_ULONG n = 99;
        CHECK(f->C_FindObjects(s, &h, 1, &n) == CKR_OK);
        CHECK(n == 0);
        CHECK(f->C_FindObjects(s, &h, 1, &n) == CKR_OK);
        CHECK(n == 0);
        CHECK(f->C_FindObjectsFinal(s) == CKR_OK);
        CHECK(std::set<CK_OBJECT_HANDLE>(got.begin(), got.end()).size() == 4);
        std::sort(got.begin(), got.end());
        auto whole = search(f, s, {}, 16);
        std::sort(whole.begin(), whole.end());
        CHECK(got == whole);
    }
    SECTION("C_FindObjectsInit twice") {
        REQUIRE(f->C_FindObjectsInit(s, nullptr, 0) == CKR_OK);
        CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
        CK_ATTRIBUTE t{CKA_CLASS, &cls, sizeof cls};
        CHECK(f->C_FindObjectsInit(s, &t, 1) == CKR_OPERATION_ACTIVE);
        // The first search goes on unchanged.
        CK_OBJECT_HANDLE out[8];
        CK_ULONG n = 0;
        CHECK(f->C_FindObjects(s, out, 8, &n) == CKR_OK);
        CHECK(n == 4);
        CHECK(f->C_FindObjectsFinal(s) == CKR_OK);
        CHECK(f->C_FindObjectsFinal(s) == CKR_OPERATION_NOT_INITIALIZED);
    }
    SECTION("no search in progress") {
        CK_OBJECT_HANDLE out[4];
        CK_ULONG n = 77;
        CHECK(f->C_FindObjects(s, out, 4, &n) == CKR_OPERATION_NOT_INITIALIZED);
        CHECK(f->C_FindObjectsFinal(s) == CKR_OPERATION_NOT_INITIALIZED);
    }
    SECTION("NULL arguments") {
        CHECK(f->C_FindObjectsInit(s, nullptr, 1) == CKR_ARGUMENTS_BAD);
        CK_ATTRIBUTE bad{CKA_ID, nullptr, 1};
        CHECK(f->C_FindObjectsInit(s, &bad, 1) == CKR_ARGUMENTS_BAD);
        // A refused C_FindObjectsInit started nothing.
        CK_OBJECT_HANDLE out[4];
        CK_ULONG n = 0;
        CHECK(f->C_FindObjects(s, out, 4, &n) == CKR_OPERATION_NOT_INITIALIZED);
        REQUIRE(f->C_FindObjectsInit(s, nullptr, 0) == CKR_OK);
        CHECK(f->C_FindObjects(s, nullptr, 4, &n) == CKR_ARGUMENTS_BAD);
        CHECK(f->C_FindObjects(s, out, 4, nullptr) == CKR_ARGUMENTS_BAD);
        CHECK(f->C_FindObjectsFinal(s) == CKR_OK);
    }
    SECTION("a logout ends a search in progress") {
        REQUIRE(f->C_FindObjectsInit(s, nullptr, 0) == CKR_OK);
        REQUIRE(f->C_Logout(s) == CKR_OK);
        CK_OBJECT_HANDLE out[8];
        CK_ULONG n = 77;
        CHECK(f->C_FindObjects(s, out, 8, &n) == CKR_OPERATION_NOT_INITIALIZED);
        CHECK(search(f, s, {}).size() == 3);
    }
    SECTION("searches are per session") {
        CK_SESSION_HANDLE s2 = c.auth_session();
        REQUIRE(f->C_FindObjectsInit(s, nullptr, 0) == CKR_OK);
        CHECK(f->C_FindObjectsInit(s2, nullptr, 0) == CKR_OK);
        CHECK(f->C_FindObjectsFinal(s2) == CKR_OK);
        CHECK(f->C_FindObjectsFinal(s) == CKR_OK);
    }
}

// =============================================================================================
// 4. C_GetAttributeValue to the letter, and the read-only token
// =============================================================================================

TEST_CASE("module: objects: C_GetAttributeValue length queries and buffers follow PKCS#11 2.40", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.auth_session();
    const Bytes user_der = pki_file(1, "auth_cert.der");
    const CK_OBJECT_HANDLE cert = cert_of_category(f, s, 1);
    const Bytes label = attribute(f, s, cert, CKA_LABEL);

    SECTION("a length query sets every length and leaves pValue NULL") {
        CK_ATTRIBUTE t[] = {{CKA_VALUE, nullptr, 0}, {CKA_LABEL, nullptr, 999}, {CKA_ID, nullptr, 0},
                            {CKA_CLASS, nullptr, 0}, {CKA_URL, nullptr, 5}};
        CHECK(f->C_GetAttributeValue(s, cert, t, 5) == CKR_OK);
        CHECK(t[0].ulValueLen == user_der.size());
        CHECK(t[1].ulValueLen == label.size());
        CHECK(t[2].ulValueLen == 1);
        CHECK(t[3].ulValueLen == sizeof(CK_ULONG));
        CHECK(t[4].ulValueLen == 0);
        for (const CK_ATTRIBUTE& a : t) CHECK(a.pValue == nullptr);
    }
    SECTION("exact and larger buffers get the value and its length") {
        Bytes value(user_der.size() + 100, 0xEE);
        CK_ULONG cls = 0xDEAD;
        CK_BYTE id[4] = {0xEE, 0xEE, 0xEE, 0xEE};
        CK_BYTE url[4] = {0xEE, 0xEE, 0xEE, 0xEE};
        CK_ATTRIBUTE t[] = {{CKA_VALUE, value.data(), value.size()}, {CKA_CLASS, &cls, sizeof cls},
                            {CKA_ID, id, sizeof id}, {CKA_URL, url, sizeof url}};
        CHECK(f->C_GetAttributeValue(s, cert, t, 4) == CKR_OK);
        CHECK(t[0].ulValueLen == user_der.size());
        CHECK(Bytes(value.begin(), value.begin() + static_cast<long>(user_der.size())) == user_der);
        CHECK(value[user_der.size()] == 0xEE);  // nothing written past the value
        CHECK(t[1].ulValueLen == sizeof cls);
        CHECK(cls == CKO_CERTIFICATE);
        CHECK(t[2].ulValueLen == 1);
        CHECK(id[0] == 0x01);
        CHECK(id[1] == 0xEE);
        CHECK(t[3].ulValueLen == 0);
        CHECK(url[0] == 0xEE);
        CHECK(t[0].pValue == value.data());
        CHECK(t[1].pValue == &cls);
        CHECK(t[2].pValue == id);
        CHECK(t[3].pValue == url);
    }
    SECTION("a buffer too small: CK_UNAVAILABLE_INFORMATION, CKR_BUFFER_TOO_SMALL, the others filled") {
        CK_BYTE id[1] = {0xEE};
        Bytes small(user_der.size() - 1, 0xEE);
        CK_ULONG cls = 0xDEAD;
        CK_ATTRIBUTE t[] = {{CKA_ID, id, 1}, {CKA_VALUE, small.data(), small.size()}, {CKA_CLASS, &cls, sizeof cls}};
        CHECK(f->C_GetAttributeValue(s, cert, t, 3) == CKR_BUFFER_TOO_SMALL);
        CHECK(t[0].ulValueLen == 1);
        CHECK(id[0] == 0x01);
        CHECK(t[1].ulValueLen == CK_UNAVAILABLE_INFORMATION);
        CHECK(t[2].ulValueLen == sizeof cls);
        CHECK(cls == CKO_CERTIFICATE);
        CHECK(t[0].pValue == id);
        CHECK(t[1].pValue == small.data());
        CHECK(t[2].pValue == &cls);
        // A zero-length buffer for a non-empty value is too small as well.
        CK_BYTE dummy = 0;
        CK_ATTRIBUTE z{CKA_LABEL, &dummy, 0};
        CHECK(f->C_GetAttributeValue(s, cert, &z, 1) == CKR_BUFFER_TOO_SMALL);
        CHECK(z.ulValueLen == CK_UNAVAILABLE_INFORMATION);
    }
    SECTION("an attribute the object lacks: CK_UNAVAILABLE_INFORMATION, CKR_ATTRIBUTE_TYPE_INVALID") {
        CK_ULONG cls = 0xDEAD;
        CK_BYTE mod[300];
        CK_BYTE vendor[8];
        CK_BYTE id[2] = {0xEE, 0xEE};
        CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
                            {CKA_MODULUS, mod, sizeof mod},  // a certificate has no modulus
                            {0x80001234UL, vendor, sizeof vendor},
                            {CKA_ID, id, sizeof id}};
        CHECK(f->C_GetAttributeValue(s, cert, t, 4) == CKR_ATTRIBUTE_TYPE_INVALID);
        CHECK(t[0].ulValueLen == sizeof cls);
        CHECK(cls == CKO_CERTIFICATE);
        CHECK(t[1].ulValueLen == CK_UNAVAILABLE_INFORMATION);
        CHECK(t[2].ulValueLen == CK_UNAVAILABLE_INFORMATION);
        CHECK(t[3].ulValueLen == 1);
        CHECK(id[0] == 0x01);
        CHECK(t[1].pValue == mod);
        CHECK(t[2].pValue == vendor);
        // The same in a length query.
        CK_ATTRIBUTE q[] = {{CKA_MODULUS, nullptr, 0}, {CKA_VALUE, nullptr, 0}};
        CHECK(f->C_GetAttributeValue(s, cert, q, 2) == CKR_ATTRIBUTE_TYPE_INVALID);
        CHECK(q[0].ulValueLen == CK_UNAVAILABLE_INFORMATION);
        CHECK(q[1].ulValueLen == user_der.size());
    }
    SECTION("an invalid type and a small buffer: CKR_ATTRIBUTE_TYPE_INVALID wins") {
        CK_BYTE small[2];
        CK_BYTE vendor[8];
        CK_ATTRIBUTE t[] = {{CKA_VALUE, small, sizeof small}, {0x80001234UL, vendor, sizeof vendor}};
        CHECK(f->C_GetAttributeValue(s, cert, t, 2) == CKR_ATTRIBUTE_TYPE_INVALID);
        CHECK(t[0].ulValueLen == CK_UNAVAILABLE_INFORMATION);
        CHECK(t[1].ulValueLen == CK_UNAVAILABLE_INFORMATION);
    }
    SECTION("an empty template") {
        CHECK(f->C_GetAttributeValue(s, cert, nullptr, 0) == CKR_OK);
    }
}

TEST_CASE("module: objects: C_GetAttributeValue never reveals the private key's secrets", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    const Bytes modulus = cert_modulus(pki_file(1, "auth_cert.der"));

    SECTION("each secret part is sensitive") {
        for (CK_ATTRIBUTE_TYPE type : {CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2,
                                       CKA_COEFFICIENT}) {
            CK_BYTE buf[512];
            CK_ATTRIBUTE a{type, buf, sizeof buf};
            CHECK(f->C_GetAttributeValue(s, priv, &a, 1) == CKR_ATTRIBUTE_SENSITIVE);
            CHECK(a.ulValueLen == CK_UNAVAILABLE_INFORMATION);
            CK_ATTRIBUTE q{type, nullptr, 0};
            CHECK(f->C_GetAttributeValue(s, priv, &q, 1) == CKR_ATTRIBUTE_SENSITIVE);
            CHECK(q.ulValueLen == CK_UNAVAILABLE_INFORMATION);
        }
    }
    SECTION("the other entries are still filled") {
        CK_BYTE secret[512];
        Bytes mod(modulus.size(), 0);
        CK_ATTRIBUTE t[] = {{CKA_PRIVATE_EXPONENT, secret, sizeof secret}, {CKA_MODULUS, mod.data(), mod.size()}};
        CHECK(f->C_GetAttributeValue(s, priv, t, 2) == CKR_ATTRIBUTE_SENSITIVE);
        CHECK(t[0].ulValueLen == CK_UNAVAILABLE_INFORMATION);
        CHECK(t[1].ulValueLen == modulus.size());
        CHECK(mod == modulus);
    }
    SECTION("sensitive, invalid and too small together: CKR_ATTRIBUTE_SENSITIVE, every entry processed") {
        CK_BYTE secret[512];
        CK_BYTE value[64];
        CK_BYTE small_mod[16];
        CK_ULONG key_type = 0xDEAD;
        CK_BYTE id[1] = {0xEE};
        CK_ATTRIBUTE t[] = {{CKA_MODULUS, small_mod, sizeof small_mod},
                            {CKA_VALUE, value, sizeof value},  // a private key has no CKA_VALUE
                            {CKA_PRIVATE_EXPONENT, secret, sizeof secret},
                            {CKA_KEY_TYPE, &key_type, sizeof key_type},
                            {CKA_ID, id, sizeof id}};
        CHECK(f->C_GetAttributeValue(s, priv, t, 5) == CKR_ATTRIBUTE_SENSITIVE);
        CHECK(t[0].ulValueLen == CK_UNAVAILABLE_INFORMATION);
        CHECK(t[1].ulValueLen == CK_UNAVAILABLE_INFORMATION);
        CHECK(t[2].ulValueLen == CK_UNAVAILABLE_INFORMATION);
        CHECK(t[3].ulValueLen == sizeof key_type);
        CHECK(key_type == CKK_RSA);
        CHECK(t[4].ulValueLen == 1);
        CHECK(id[0] == 0x01);
        CHECK(t[0].pValue == small_mod);
        CHECK(t[1].pValue == value);
        CHECK(t[2].pValue == secret);
        CHECK(t[3].pValue == &key_type);
        CHECK(t[4].pValue == id);
    }
    SECTION("a sensitive attribute is never a search criterion") {
        CHECK(search(f, s, {{CKA_PRIVATE_EXPONENT, Bytes{}}}).empty());
    }
}

TEST_CASE("module: objects: C_GetAttributeValue and C_GetObjectSize refuse bad handles and arguments", "[objects]") {
    TwoCards c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s1 = open_session(f, c.slots[0]);
    CK_SESSION_HANDLE s1_sign = open_session(f, c.slots[1]);
    CK_SESSION_HANDLE s2 = open_session(f, c.slots[2]);
    const CK_OBJECT_HANDLE cert1 = cert_of_category(f, s1, 1);
    const CK_OBJECT_HANDLE cert2 = cert_of_category(f, s2, 1);
    const CK_OBJECT_HANDLE sign_ca = only(f, s1_sign, CKO_CERTIFICATE);
    CHECK(cert1 != cert2);
    CHECK(attribute(f, s2, cert2, CKA_VALUE) == pki_file(2, "auth_cert.der"));

    for (CK_OBJECT_HANDLE bad : {CK_OBJECT_HANDLE{CK_INVALID_HANDLE}, CK_OBJECT_HANDLE{0xDEADBEEF},
                                 CK_OBJECT_HANDLE{0x0F}, cert2, sign_ca}) {
        CAPTURE(bad);
        CK_ULONG cls = 0xDEAD;
        CK_ATTRIBUTE a{CKA_CLASS, &cls, sizeof cls};
        CHECK(f->C_GetAttributeValue(s1, bad, &a, 1) == CKR_OBJECT_HANDLE_INVALID);
        CHECK(cls == 0xDEAD);
        CK_ULONG size = 0;
        CHECK(f->C_GetObjectSize(s1, bad, &size) == CKR_OBJECT_HANDLE_INVALID);
    }
    CK_ULONG size = 0;
    CHECK(f->C_GetObjectSize(s1, cert1, &size) == CKR_OK);
    CHECK(size == CK_UNAVAILABLE_INFORMATION);
    CHECK(f->C_GetObjectSize(s1, cert1, nullptr) == CKR_ARGUMENTS_BAD);
    CHECK(f->C_GetAttributeValue(s1, cert1, nullptr, 1) == CKR_ARGUMENTS_BAD);
    CK_ATTRIBUTE a{CKA_CLASS, nullptr, 0};
    CHECK(f->C_GetAttributeValue(0xBAD, cert1, &a, 1) == CKR_SESSION_HANDLE_INVALID);
}

TEST_CASE("module: objects: nothing can be written to a token", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    const CK_OBJECT_HANDLE cert = cert_of_category(f, s, 1);
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    const Bytes label = attribute(f, s, cert, CKA_LABEL);

    char new_label[] = "changed";
    CK_ATTRIBUTE t{CKA_LABEL, new_label, sizeof new_label - 1};
    CK_OBJECT_HANDLE out = CK_INVALID_HANDLE, out2 = CK_INVALID_HANDLE;
    CHECK(f->C_SetAttributeValue(s, cert, &t, 1) == CKR_TOKEN_WRITE_PROTECTED);
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_ATTRIBUTE data[] = {{CKA_CLASS, &cls, sizeof cls}, t};
    CHECK(f->C_CreateObject(s, data, 2, &out) == CKR_TOKEN_WRITE_PROTECTED);
    CHECK(f->C_DestroyObject(s, cert) == CKR_TOKEN_WRITE_PROTECTED);
    CHECK(f->C_DestroyObject(s, priv) == CKR_TOKEN_WRITE_PROTECTED);
    CHECK(f->C_CopyObject(s, cert, &t, 1, &out) == CKR_TOKEN_WRITE_PROTECTED);
    CK_MECHANISM aes{CKM_AES_KEY_GEN, nullptr, 0};
    CK_ULONG key_len = 32, bits = 2048;
    CK_ATTRIBUTE aes_t{CKA_VALUE_LEN, &key_len, sizeof key_len};
    CHECK(f->C_GenerateKey(s, &aes, &aes_t, 1, &out) == CKR_TOKEN_WRITE_PROTECTED);
    CK_MECHANISM rsa{CKM_RSA_PKCS_KEY_PAIR_GEN, nullptr, 0};
    CK_ATTRIBUTE pub_t{CKA_MODULUS_BITS, &bits, sizeof bits};
    CHECK(f->C_GenerateKeyPair(s, &rsa, &pub_t, 1, &t, 1, &out, &out2) == CKR_TOKEN_WRITE_PROTECTED);
    CHECK(out == CK_INVALID_HANDLE);
    CHECK(out2 == CK_INVALID_HANDLE);

    // Nothing changed.
    CHECK(attribute(f, s, cert, CKA_LABEL) == label);
    CHECK(search(f, s, {}).size() == 4);
    // A bad session is still a bad session.
    CHECK(f->C_SetAttributeValue(0xBAD, cert, &t, 1) == CKR_SESSION_HANDLE_INVALID);
    CHECK(f->C_DestroyObject(0xBAD, cert) == CKR_SESSION_HANDLE_INVALID);
}

// =============================================================================================
// 5. Mechanisms
// =============================================================================================

TEST_CASE("module: objects: C_GetMechanismList lists exactly the card's mechanisms", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    for (CK_SLOT_ID slot : c.slots) {
        CAPTURE(slot);
        CK_ULONG n = 0;
        REQUIRE(f->C_GetMechanismList(slot, nullptr, &n) == CKR_OK);
        CHECK(n == 13);
        std::vector<CK_MECHANISM_TYPE> small(2, 0xFFFFFFFFUL);
        CK_ULONG m = small.size();
        CHECK(f->C_GetMechanismList(slot, small.data(), &m) == CKR_BUFFER_TOO_SMALL);
        CHECK(m == 13);
        const auto list = mechanism_list(f, slot);
        CHECK(list.size() == 13);
        CHECK(as_set(list) == unite(kSignMechs, kDigestMechs));
        CHECK(as_set(list).size() == list.size());
        for (CK_MECHANISM_TYPE absent : {CKM_RSA_X_509, CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_PKCS_OAEP,
                                         CKM_SHA512_RSA_PKCS_PSS, CKM_ECDSA, CKM_AES_KEY_GEN})
            CHECK(std::find(list.begin(), list.end(), absent) == list.end());
    }
    CK_ULONG n = 0;
    CHECK(f->C_GetMechanismList(c.slots[0], nullptr, nullptr) == CKR_ARGUMENTS_BAD);
    CHECK(f->C_GetMechanismList(99, nullptr, &n) == CKR_SLOT_ID_INVALID);
}

TEST_CASE("module: objects: C_GetMechanismInfo describes each mechanism", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    const CK_SLOT_ID slot = c.slots[0];
    for (CK_MECHANISM_TYPE type : kSignMechs) {
        CAPTURE(type);
        CK_MECHANISM_INFO info{};
        info.flags = 0xFFFF;
        REQUIRE(f->C_GetMechanismInfo(slot, type, &info) == CKR_OK);
        CHECK(info.ulMinKeySize == 2048);
        CHECK(info.ulMaxKeySize == 2048);
        CHECK(info.flags == (CKF_HW | CKF_SIGN | CKF_VERIFY));
    }
    for (CK_MECHANISM_TYPE type : kDigestMechs) {
        CAPTURE(type);
        CK_MECHANISM_INFO info{};
        REQUIRE(f->C_GetMechanismInfo(slot, type, &info) == CKR_OK);
        CHECK(info.flags == CKF_DIGEST);
    }
    for (CK_MECHANISM_TYPE type : {CKM_RSA_X_509, CKM_RSA_PKCS_OAEP, CKM_SHA512_RSA_PKCS_PSS, CKM_ECDSA,
                                   CKM_RSA_PKCS_KEY_PAIR_GEN}) {
        CAPTURE(type);
        CK_MECHANISM_INFO info{};
        CHECK(f->C_GetMechanismInfo(slot, type, &info) == CKR_MECHANISM_INVALID);
    }
    CHECK(f->C_GetMechanismInfo(slot, CKM_RSA_PKCS, nullptr) == CKR_ARGUMENTS_BAD);
}

TEST_CASE("module: objects: mechanisms the card lacks are refused by every init function", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    const CK_OBJECT_HANDLE pub = only(f, s, CKO_PUBLIC_KEY);

    for (CK_MECHANISM_TYPE type : {CKM_RSA_X_509, CKM_RSA_PKCS_OAEP, CKM_SHA512_RSA_PKCS_PSS, CKM_ECDSA, CKM_SHA256}) {
        CAPTURE(type);
        Mech m(type);
        CHECK(f->C_SignInit(s, m.get(), priv) == CKR_MECHANISM_INVALID);
        CHECK(f->C_VerifyInit(s, m.get(), pub) == CKR_MECHANISM_INVALID);
    }
    // SHA512 PSS with parameters that would suit it: still unknown to the card.
    Mech sha512_pss(CKM_SHA512_RSA_PKCS_PSS, CKM_SHA512, CKG_MGF1_SHA512, 64);
    CHECK(f->C_SignInit(s, sha512_pss.get(), priv) == CKR_MECHANISM_INVALID);
    // Nothing was started by the refusals.
    Bytes sig(kSigLen);
    CK_ULONG len = sig.size();
    Bytes data = message(10);
    CHECK(f->C_Sign(s, ptr(data), data.size(), sig.data(), &len) == CKR_OPERATION_NOT_INITIALIZED);
    CHECK(f->C_Verify(s, ptr(data), data.size(), sig.data(), len) == CKR_OPERATION_NOT_INITIALIZED);

    for (CK_MECHANISM_TYPE type : {CKM_RSA_PKCS, CKM_RSA_X_509, CKM_RSA_PKCS_OAEP}) {
        CAPTURE(type);
        Mech m(type);
        CHECK(f->C_EncryptInit(s, m.get(), pub) == CKR_MECHANISM_INVALID);
        CHECK(f->C_DecryptInit(s, m.get(), priv) == CKR_MECHANISM_INVALID);
    }
}

// =============================================================================================
// 6. Signing with the authentication key
// =============================================================================================

TEST_CASE("module: objects: every signature mechanism of the authentication key verifies with OpenSSL", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    const Bytes cert = pki_file(1, "auth_cert.der");
    const Bytes data = message(1000);
    SentToCard sent(*c.card);

    auto locked_after_one_pin = [&] {
        CHECK_FALSE(c.card->auth_verified());
        CHECK(sent.pins() == 1);  // one VERIFY per signature
        sent = SentToCard(*c.card);
    };

    SECTION("CKM_RSA_PKCS over a SHA-256 DigestInfo") {
        const Bytes di = sha256_digest_info(data);
        const Bytes sig = sign(f, s, CKM_RSA_PKCS, priv, di);
        CHECK(verify_pkcs1_raw(cert, di, sig));
        CHECK(verify_md(cert, EVP_sha256(), data, sig));
        CHECK_FALSE(verify_md(cert, EVP_sha256(), message(1000, 2), sig));
        locked_after_one_pin();
    }
    SECTION("CKM_RSA_PKCS over raw data: 245 bytes fit, 246 do not") {
        const Bytes raw = message(245);
        const Bytes sig = sign(f, s, CKM_RSA_PKCS, priv, raw);
        CHECK(verify_pkcs1_raw(cert, raw, sig));
        locked_after_one_pin();

        Mech m(CKM_RSA_PKCS);
        const Bytes too_long = message(246);
        CHECK(sign_rv(f, s, m.get(), priv, too_long) == CKR_DATA_LEN_RANGE);
        CHECK(sent.pins() == 0);  // refused before the card
        // The failed C_Sign ended the operation.
        CHECK(sign_now(f, s, raw) == CKR_OPERATION_NOT_INITIALIZED);
        CHECK(sign_rv(f, s, m.get(), priv, Bytes{0x42}) == CKR_OK);
    }
    SECTION("CKM_SHA*_RSA_PKCS") {
        for (const HashMech& h : kHashMechs) {
            CAPTURE(h.sign);
            const Bytes sig = sign_and_verify(f, s, h, priv, data, cert);
            CHECK_FALSE(verify_md(cert, h.md(), message(999), sig));
            locked_after_one_pin();
        }
    }
    SECTION("CKM_RSA_PKCS_PSS over a SHA-256 hash") {
        const Bytes hash = sha256(data);
        PssMech m(CKM_RSA_PKCS_PSS);
        const Bytes sig = sign(f, s, m.get(), priv, hash);
        CHECK(verify_pss_sha256(cert, hash, sig, 32));
        CHECK_FALSE(verify_pss_sha256(cert, sha256(message(3)), sig, 32));
        locked_after_one_pin();
        // Not a SHA-256 hash: refused.
        CHECK(sign_rv(f, s, m.get(), priv, message(20)) == CKR_DATA_LEN_RANGE);
    }
    SECTION("CKM_SHA256_RSA_PKCS_PSS over data") {
        PssMech m(CKM_SHA256_RSA_PKCS_PSS);
        const Bytes sig = sign(f, s, m.get(), priv, data);
        CHECK(verify_pss_sha256(cert, sha256(data), sig, 32));
        locked_after_one_pin();
        // PSS is randomised: a second signature differs and verifies too.
        const Bytes sig2 = sign(f, s, m.get(), priv, data);
        CHECK(sig2 != sig);
        CHECK(verify_pss_sha256(cert, sha256(data), sig2, 32));
    }
}

TEST_CASE("module: objects: C_Sign's length query and a small buffer keep the operation", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    const Bytes cert = pki_file(1, "auth_cert.der");
    const Bytes data = message(100);
    Mech m(CKM_SHA256_RSA_PKCS);

    SECTION("C_Sign") {
        REQUIRE(f->C_SignInit(s, m.get(), priv) == CKR_OK);
        const SentToCard sent(*c.card);
        CK_ULONG len = 0;
        CHECK(f->C_Sign(s, ptr(data), data.size(), nullptr, &len) == CKR_OK);
        CHECK(len == kSigLen);
        CHECK(sent.apdus() == 0);  // a length query never reaches the card
        Bytes sig(255, 0xEE);
        len = sig.size();
        CHECK(f->C_Sign(s, ptr(data), data.size(), sig.data(), &len) == CKR_BUFFER_TOO_SMALL);
        CHECK(len == kSigLen);
        CHECK(sig == Bytes(255, 0xEE));
        CHECK(sent.apdus() == 0);
        sig.assign(kSigLen, 0);
        len = sig.size();
        REQUIRE(f->C_Sign(s, ptr(data), data.size(), sig.data(), &len) == CKR_OK);
        CHECK(len == kSigLen);
        CHECK(verify_md(cert, EVP_sha256(), data, sig));
        // The signature ended the operation.
        CHECK(f->C_Sign(s, ptr(data), data.size(), sig.data(), &len) == CKR_OPERATION_NOT_INITIALIZED);
    }
    SECTION("C_SignFinal") {
        REQUIRE(f->C_SignInit(s, m.get(), priv) == CKR_OK);
        REQUIRE(f->C_SignUpdate(s, ptr(data), data.size()) == CKR_OK);
        CK_ULONG len = 0;
        CHECK(f->C_SignFinal(s, nullptr, &len) == CKR_OK);
        CHECK(len == kSigLen);
        Bytes sig(10);
        len = sig.size();
        CHECK(f->C_SignFinal(s, sig.data(), &len) == CKR_BUFFER_TOO_SMALL);
        CHECK(len == kSigLen);
        sig.assign(kSigLen + 5, 0);
        len = sig.size();
        REQUIRE(f->C_SignFinal(s, sig.data(), &len) == CKR_OK);
        CHECK(len == kSigLen);
        sig.resize(len);
        CHECK(verify_md(cert, EVP_sha256(), data, sig));
        CHECK(f->C_SignFinal(s, sig.data(), &len) == CKR_OPERATION_NOT_INITIALIZED);
    }
}

TEST_CASE("module: objects: multi-part signing gives the single-part signature", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    const Bytes cert = pki_file(1, "auth_cert.der");
    const Bytes data = message(777);
    const Bytes part1(data.begin(), data.begin() + 300), part2(data.begin() + 300, data.end());

    for (const HashMech& h : kHashMechs) {
        CAPTURE(h.sign);
        const Bytes single = sign(f, s, h.sign, priv, data);
        Mech m(h.sign);
        const Bytes multi = sign_in_parts(f, s, m.get(), priv, {part1, Bytes{}, part2});
        CHECK(multi.size() == kSigLen);
        CHECK(multi == single);  // PKCS#1 v1.5 is deterministic
        CHECK(verify_md(cert, h.md(), data, multi));
        CHECK_FALSE(c.card->auth_verified());
    }
    SECTION("CKM_SHA256_RSA_PKCS_PSS") {
        PssMech m(CKM_SHA256_RSA_PKCS_PSS);
        const Bytes sig = sign_in_parts(f, s, m.get(), priv, {part1, part2});
        CHECK(verify_pss_sha256(cert, sha256(data), sig, 32));
    }
}

TEST_CASE("module: objects: C_SignInit refuses wrong states, parameters and keys", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    const CK_OBJECT_HANDLE pub = only(f, s, CKO_PUBLIC_KEY);
    const Bytes data = message(50);
    Mech m(CKM_SHA256_RSA_PKCS);

    SECTION("operation state") {
        Bytes sig(kSigLen);
        CK_ULONG len = sig.size();
        CHECK(f->C_Sign(s, ptr(data), data.size(), sig.data(), &len) == CKR_OPERATION_NOT_INITIALIZED);
        CHECK(f->C_SignUpdate(s, ptr(data), data.size()) == CKR_OPERATION_NOT_INITIALIZED);
        CHECK(f->C_SignFinal(s, sig.data(), &len) == CKR_OPERATION_NOT_INITIALIZED);
        REQUIRE(f->C_SignInit(s, m.get(), priv) == CKR_OK);
        Mech other(CKM_SHA1_RSA_PKCS);
        CHECK(f->C_SignInit(s, other.get(), priv) == CKR_OPERATION_ACTIVE);
        // The first operation is intact: a SHA-256 signature comes out.
        REQUIRE(f->C_Sign(s, ptr(data), data.size(), sig.data(), &len) == CKR_OK);
        CHECK(verify_md(pki_file(1, "auth_cert.der"), EVP_sha256(), data, sig));
        CHECK(f->C_SignInit(s, nullptr, priv) == CKR_ARGUMENTS_BAD);
    }
    // PSS parameters the card cannot produce: module_conformance_test.cpp.
    SECTION("keys that cannot sign") {
        CHECK(f->C_SignInit(s, m.get(), pub) == CKR_KEY_FUNCTION_NOT_PERMITTED);
        CHECK(f->C_SignInit(s, m.get(), cert_of_category(f, s, 1)) == CKR_KEY_HANDLE_INVALID);
        CHECK(f->C_SignInit(s, m.get(), cert_of_category(f, s, 2)) == CKR_KEY_HANDLE_INVALID);
        for (CK_OBJECT_HANDLE garbage : {CK_OBJECT_HANDLE{0}, CK_OBJECT_HANDLE{0xDEADBEEF}, CK_OBJECT_HANDLE{0x0F},
                                         CK_OBJECT_HANDLE{priv + 0x1000}}) {
            CAPTURE(garbage);
            CHECK(f->C_SignInit(s, m.get(), garbage) == CKR_KEY_HANDLE_INVALID);
        }
        // The signature token's private key, through an authentication token session.
        CK_SESSION_HANDLE ss = c.logged_in_sign_session();
        const CK_OBJECT_HANDLE sign_priv = only(f, ss, CKO_PRIVATE_KEY);
        CHECK(sign_priv != priv);
        CHECK(f->C_SignInit(s, m.get(), sign_priv) == CKR_KEY_HANDLE_INVALID);
        // Nothing was started.
        CHECK(f->C_SignInit(s, m.get(), priv) == CKR_OK);
    }
}

TEST_CASE("module: objects: C_SignInit with the private key's handle needs a login", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    REQUIRE(f->C_Logout(s) == CKR_OK);
    Mech m(CKM_SHA256_RSA_PKCS);
    const SentToCard sent(*c.card);
    CHECK(f->C_SignInit(s, m.get(), priv) == CKR_USER_NOT_LOGGED_IN);
    CHECK(c.card->verify_with_data_count() == 1);  // only the login's
    CHECK(sent.apdus() == 0);
    // Logged in again, the same handle signs.
    REQUIRE(login(f, s, kAuthPin) == CKR_OK);
    CHECK(only(f, s, CKO_PRIVATE_KEY) == priv);
    sign_and_verify(f, s, kSha256Pkcs1, priv, message(10), pki_file(1, "auth_cert.der"));
}

TEST_CASE("module: objects: the authentication key takes no context-specific login", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    CHECK(login(f, s, kAuthPin, CKU_CONTEXT_SPECIFIC) == CKR_OPERATION_NOT_INITIALIZED);
    Mech m(CKM_SHA256_RSA_PKCS);
    REQUIRE(f->C_SignInit(s, m.get(), priv) == CKR_OK);
    const SentToCard sent(*c.card);
    CHECK(login(f, s, kAuthPin, CKU_CONTEXT_SPECIFIC) == CKR_OPERATION_NOT_INITIALIZED);
    CHECK(sent.apdus() == 0);
    const Bytes data = message(8);
    Bytes sig;
    REQUIRE(sign_now(f, s, data, &sig) == CKR_OK);
    CHECK(verify_md(pki_file(1, "auth_cert.der"), EVP_sha256(), data, sig));
}

TEST_CASE("module: objects: C_SignInit with the signature key's handle after C_Logout", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_sign_session();
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    const CK_OBJECT_HANDLE pub = only(f, s, CKO_PUBLIC_KEY);
    REQUIRE(f->C_Logout(s) == CKR_OK);
    Mech m(CKM_SHA256_RSA_PKCS);
    const CK_RV rv = f->C_SignInit(s, m.get(), priv);
    CHECK((rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_KEY_HANDLE_INVALID));
    const CK_RV vrv = f->C_VerifyInit(s, m.get(), pub);
    CHECK((vrv == CKR_USER_NOT_LOGGED_IN || vrv == CKR_KEY_HANDLE_INVALID));
    // Nothing was started: a context login finds no operation.
    CHECK(login(f, s, kSignPin, CKU_CONTEXT_SPECIFIC) == CKR_OPERATION_NOT_INITIALIZED);
}

TEST_CASE("module: objects: a logout ends the signature in progress", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    Mech m(CKM_SHA256_RSA_PKCS);
    REQUIRE(f->C_SignInit(s, m.get(), priv) == CKR_OK);
    REQUIRE(f->C_Logout(s) == CKR_OK);
    CHECK(sign_now(f, s, message(10)) == CKR_OPERATION_NOT_INITIALIZED);
    CHECK(c.card->verify_with_data_count() == 1);
}

TEST_CASE("module: objects: the card holds no verified PIN after a signature, logout, finalize or last close",
          "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    CHECK(direct_auth_signature(*c.card) == 0x6982);  // locked right after C_Login
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    sign(f, s, CKM_SHA256_RSA_PKCS, priv, message(32));
    check_auth_pin_not_verified(*c.card);

    SECTION("C_Logout") {
        REQUIRE(f->C_Logout(s) == CKR_OK);
        check_auth_pin_not_verified(*c.card);
    }
    SECTION("C_Finalize") {
        REQUIRE(f->C_Finalize(nullptr) == CKR_OK);
        check_auth_pin_not_verified(*c.card);
    }
    SECTION("closing the last session") {
        CK_SESSION_HANDLE s2 = c.auth_session();
        REQUIRE(f->C_CloseSession(s) == CKR_OK);
        CK_SESSION_INFO info{};
        REQUIRE(f->C_GetSessionInfo(s2, &info) == CKR_OK);
        CHECK(info.state == CKS_RO_USER_FUNCTIONS);  // still one session: still logged in
        REQUIRE(f->C_CloseSession(s2) == CKR_OK);
        check_auth_pin_not_verified(*c.card);
        CK_SESSION_HANDLE s3 = c.auth_session();
        REQUIRE(f->C_GetSessionInfo(s3, &info) == CKR_OK);
        CHECK(info.state == CKS_RO_PUBLIC_SESSION);
        CHECK(search(f, s3, {{CKA_CLASS, ul(CKO_PRIVATE_KEY)}}).empty());
    }
    SECTION("the direct check itself can tell a verified card") {
        REQUIRE(sw_of(c.card->process(from_hex("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"))) == 0x9000);
        REQUIRE(sw_of(c.card->process(from_hex("00 20 00 98 04 31 32 33 34"))) == 0x9000);
        CHECK(c.card->auth_verified());
        CHECK(direct_auth_signature(*c.card) == 0x9000);
    }
}

// =============================================================================================
// 7. The signature key: a PIN for every signature
// =============================================================================================

TEST_CASE("module: objects: the signature key takes C_Login(CKU_CONTEXT_SPECIFIC) for every signature",
          "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_sign_session();
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    const Bytes cert = pki_file(1, "sign_cert.der");
    const Bytes data = message(200);
    Mech m(CKM_SHA256_RSA_PKCS);
    REQUIRE(c.card->tries_left(true) == 5);

    SECTION("without the context PIN, C_Sign is refused") {
        REQUIRE(f->C_SignInit(s, m.get(), priv) == CKR_OK);
        const SentToCard sent(*c.card);
        CHECK(sign_now(f, s, data) == CKR_USER_NOT_LOGGED_IN);
        CHECK(sent.pins() == 0);  // nothing sent
        CHECK(c.card->tries_left(true) == 5);
    }
    SECTION("with it, one valid signature; the next one needs it again") {
        for (int round = 0; round < 2; ++round) {
            CAPTURE(round);
            sign_init_with_pin(f, s, m.get(), priv, kSignPin);
            CHECK_FALSE(c.card->sign_verified());
            Bytes sig;
            REQUIRE(sign_now(f, s, data, &sig) == CKR_OK);
            CHECK(verify_md(cert, EVP_sha256(), data, sig));
            CHECK_FALSE(verify_md(pki_file(1, "auth_cert.der"), EVP_sha256(), data, sig));
            CHECK_FALSE(c.card->sign_verified());
        }
        REQUIRE(f->C_SignInit(s, m.get(), priv) == CKR_OK);
        CHECK(sign_now(f, s, data) == CKR_USER_NOT_LOGGED_IN);
        CHECK(c.card->tries_left(true) == 5);
    }
    SECTION("the context PIN also serves a length query and multi-part signing") {
        sign_init_with_pin(f, s, m.get(), priv, kSignPin);
        CK_ULONG len = 0;
        REQUIRE(f->C_SignUpdate(s, ptr(data), 50) == CKR_OK);
        REQUIRE(f->C_SignUpdate(s, ptr(data) + 50, data.size() - 50) == CKR_OK);
        CHECK(f->C_SignFinal(s, nullptr, &len) == CKR_OK);
        CHECK(len == kSigLen);
        Bytes sig(kSigLen);
        REQUIRE(f->C_SignFinal(s, sig.data(), &len) == CKR_OK);
        CHECK(verify_md(cert, EVP_sha256(), data, sig));
    }
    SECTION("PSS with the signature key") {
        PssMech pss(CKM_SHA256_RSA_PKCS_PSS);
        sign_init_with_pin(f, s, pss.get(), priv, kSignPin);
        Bytes sig;
        REQUIRE(sign_now(f, s, data, &sig) == CKR_OK);
        CHECK(verify_pss_sha256(cert, sha256(data), sig, 32));
    }
    SECTION("a wrong context PIN costs one try and is CKR_PIN_INCORRECT") {
        REQUIRE(f->C_SignInit(s, m.get(), priv) == CKR_OK);
        CHECK(login(f, s, kWrongSignPin, CKU_CONTEXT_SPECIFIC) == CKR_PIN_INCORRECT);
        CHECK(c.card->tries_left(true) == 4);
        CHECK_FALSE(c.card->sign_verified());
        // The operation is still there; the right PIN then signs, and the signature's own
        // VERIFY restores the counter.
        REQUIRE(login(f, s, kSignPin, CKU_CONTEXT_SPECIFIC) == CKR_OK);
        Bytes sig;
        REQUIRE(sign_now(f, s, data, &sig) == CKR_OK);
        CHECK(verify_md(cert, EVP_sha256(), data, sig));
        CHECK(c.card->tries_left(true) == 5);
        CHECK_FALSE(c.card->sign_verified());
    }
    SECTION("a malformed context PIN is refused without an APDU") {
        REQUIRE(f->C_SignInit(s, m.get(), priv) == CKR_OK);
        const SentToCard sent(*c.card);
        CHECK(login(f, s, kTwoLetterPin, CKU_CONTEXT_SPECIFIC) == CKR_PIN_INCORRECT);
        CHECK(login(f, s, kSeventeenCharPin, CKU_CONTEXT_SPECIFIC) == CKR_PIN_INCORRECT);
        CHECK(login(f, s, kSignPinWithSymbol, CKU_CONTEXT_SPECIFIC) == CKR_PIN_INCORRECT);
        CHECK(sent.apdus() == 0);
        CHECK(c.card->tries_left(true) == 5);
        REQUIRE(login(f, s, kSignPin, CKU_CONTEXT_SPECIFIC) == CKR_OK);
        Bytes sig;
        REQUIRE(sign_now(f, s, data, &sig) == CKR_OK);
        CHECK(verify_md(cert, EVP_sha256(), data, sig));
    }
    SECTION("a context login without a signature in progress") {
        CHECK(login(f, s, kSignPin, CKU_CONTEXT_SPECIFIC) == CKR_OPERATION_NOT_INITIALIZED);
        CHECK(c.card->tries_left(true) == 5);
    }
}

// =============================================================================================
// 8. Verification in software
// =============================================================================================

TEST_CASE("module: objects: C_Verify checks signatures in software", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    const CK_OBJECT_HANDLE pub = only(f, s, CKO_PUBLIC_KEY);
    const Bytes data = message(500);
    const Bytes sig = sign(f, s, CKM_SHA256_RSA_PKCS, priv, data);
    const Bytes hash = sha256(data);
    PssMech pss(CKM_RSA_PKCS_PSS);
    const Bytes pss_sig = sign(f, s, pss.get(), priv, hash);
    REQUIRE(f->C_Logout(s) == CKR_OK);  // the public key needs no login
    Mech m(CKM_SHA256_RSA_PKCS);

    auto verify_rv = [&](CK_MECHANISM* mech, const Bytes& d, const Bytes& sg) {
        const CK_RV init = f->C_VerifyInit(s, mech, pub);
        if (init != CKR_OK) return init;
        return f->C_Verify(s, ptr(d), d.size(), ptr(sg), sg.size());
    };
    Bytes flipped = sig;
    flipped[100] ^= 0x01;

    CHECK(verify_rv(m.get(), data, sig) == CKR_OK);
    CHECK(verify_rv(m.get(), data, flipped) == CKR_SIGNATURE_INVALID);
    CHECK(verify_rv(m.get(), message(500, 9), sig) == CKR_SIGNATURE_INVALID);
    CHECK(verify_rv(m.get(), data, Bytes(sig.begin(), sig.end() - 1)) == CKR_SIGNATURE_LEN_RANGE);
    Bytes longer = sig;
    longer.push_back(0);
    CHECK(verify_rv(m.get(), data, longer) == CKR_SIGNATURE_LEN_RANGE);
    // C_Verify ended each operation.
    CHECK(f->C_Verify(s, ptr(data), data.size(), ptr(sig), sig.size()) == CKR_OPERATION_NOT_INITIALIZED);

    SECTION("multi-part") {
        REQUIRE(f->C_VerifyInit(s, m.get(), pub) == CKR_OK);
        REQUIRE(f->C_VerifyUpdate(s, ptr(data), 123) == CKR_OK);
        REQUIRE(f->C_VerifyUpdate(s, ptr(data) + 123, data.size() - 123) == CKR_OK);
        CHECK(f->C_VerifyFinal(s, ptr(sig), sig.size()) == CKR_OK);
        REQUIRE(f->C_VerifyInit(s, m.get(), pub) == CKR_OK);
        REQUIRE(f->C_VerifyUpdate(s, ptr(data), data.size()) == CKR_OK);
        CHECK(f->C_VerifyFinal(s, ptr(flipped), flipped.size()) == CKR_SIGNATURE_INVALID);
        REQUIRE(f->C_VerifyInit(s, m.get(), pub) == CKR_OK);
        REQUIRE(f->C_VerifyUpdate(s, ptr(data), 10) == CKR_OK);
        CHECK(f->C_VerifyFinal(s, ptr(sig), sig.size()) == CKR_SIGNATURE_INVALID);
        CHECK(f->C_VerifyFinal(s, ptr(sig), sig.size()) == CKR_OPERATION_NOT_INITIALIZED);
    }
    SECTION("CKM_RSA_PKCS over the DigestInfo") {
        Mech raw(CKM_RSA_PKCS);
        CHECK(verify_rv(raw.get(), sha256_digest_info(data), sig) == CKR_OK);
        CHECK(verify_rv(raw.get(), sha256_digest_info(message(3)), sig) == CKR_SIGNATURE_INVALID);
    }
    SECTION("PSS") {
        CHECK(verify_rv(pss.get(), hash, pss_sig) == CKR_OK);
        Bytes bad = pss_sig;
        bad[0] ^= 0x80;
        CHECK(verify_rv(pss.get(), hash, bad) == CKR_SIGNATURE_INVALID);
        CHECK(verify_rv(pss.get(), sha256(message(4)), pss_sig) == CKR_SIGNATURE_INVALID);
        PssMech hashed(CKM_SHA256_RSA_PKCS_PSS);
        CHECK(verify_rv(hashed.get(), data, pss_sig) == CKR_OK);
        CHECK(verify_rv(hashed.get(), message(500, 9), pss_sig) == CKR_SIGNATURE_INVALID);
        // A PKCS#1 signature is not a PSS one.
        CHECK(verify_rv(hashed.get(), data, sig) == CKR_SIGNATURE_INVALID);
    }
    SECTION("operation state and keys") {
        REQUIRE(f->C_VerifyInit(s, m.get(), pub) == CKR_OK);
        CHECK(f->C_VerifyInit(s, m.get(), pub) == CKR_OPERATION_ACTIVE);
        CHECK(f->C_Verify(s, ptr(data), data.size(), ptr(sig), sig.size()) == CKR_OK);
        CHECK(f->C_VerifyInit(s, m.get(), cert_of_category(f, s, 1)) == CKR_KEY_HANDLE_INVALID);
        CHECK(f->C_VerifyInit(s, m.get(), 0xDEADBEEF) == CKR_KEY_HANDLE_INVALID);
        CHECK(f->C_VerifyUpdate(s, ptr(data), data.size()) == CKR_OPERATION_NOT_INITIALIZED);
        CHECK(f->C_VerifyFinal(s, ptr(sig), sig.size()) == CKR_OPERATION_NOT_INITIALIZED);
    }
}

TEST_CASE("module: objects: the signature token verifies with its own certificate's key", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_sign_session();
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    const CK_OBJECT_HANDLE pub = only(f, s, CKO_PUBLIC_KEY);
    const Bytes data = message(64);
    Mech m(CKM_SHA256_RSA_PKCS);
    sign_init_with_pin(f, s, m.get(), priv, kSignPin);
    Bytes sig;
    REQUIRE(sign_now(f, s, data, &sig) == CKR_OK);
    REQUIRE(f->C_VerifyInit(s, m.get(), pub) == CKR_OK);
    CHECK(f->C_Verify(s, ptr(data), data.size(), ptr(sig), sig.size()) == CKR_OK);

    // An authentication-key signature does not verify with the signature key.
    CK_SESSION_HANDLE a = c.logged_in_auth_session();
    const Bytes auth_sig = sign(f, a, CKM_SHA256_RSA_PKCS, only(f, a, CKO_PRIVATE_KEY), data);
    REQUIRE(f->C_VerifyInit(s, m.get(), pub) == CKR_OK);
    CHECK(f->C_Verify(s, ptr(data), data.size(), ptr(auth_sig), auth_sig.size()) == CKR_SIGNATURE_INVALID);
}

// =============================================================================================
// 9. Digests
// =============================================================================================

TEST_CASE("module: objects: C_Digest hashes in software", "[objects]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.auth_session();  // no login needed
    const Bytes data = message(1234);

    SECTION("SHA-256 with a length query and a small buffer") {
        Mech m(CKM_SHA256);
        REQUIRE(f->C_DigestInit(s, m.get()) == CKR_OK);
        CK_ULONG len = 0;
        CHECK(f->C_Digest(s, ptr(data), data.size(), nullptr, &len) == CKR_OK);
        CHECK(len == 32);
        Bytes out(31, 0xEE);
        len = out.size();
        CHECK(f->C_Digest(s, ptr(data), data.size(), out.data(), &len) == CKR_BUFFER_TOO_SMALL);
        CHECK(len == 32);
        CHECK(out == Bytes(31, 0xEE));
        out.assign(40, 0xEE);
        len = out.size();
        REQUIRE(f->C_Digest(s, ptr(data), data.size(), out.data(), &len) == CKR_OK);
        CHECK(len == 32);
        out.resize(len);
        CHECK(out == sha256(data));
        CHECK(f->C_Digest(s, ptr(data), data.size(), out.data(), &len) == CKR_OPERATION_NOT_INITIALIZED);
    }
    SECTION("every digest, single- and multi-part, against OpenSSL") {
        for (const HashMech& h : kHashMechs) {
            CAPTURE(h.digest);
            const Bytes expected = md_hash(h.md(), data);
            Mech m(h.digest);
            REQUIRE(f->C_DigestInit(s, m.get()) == CKR_OK);
            Bytes out(64);
            CK_ULONG len = out.size();
            REQUIRE(f->C_Digest(s, ptr(data), data.size(), out.data(), &len) == CKR_OK);
            CHECK(Bytes(out.begin(), out.begin() + static_cast<long>(len)) == expected);

            REQUIRE(f->C_DigestInit(s, m.get()) == CKR_OK);
            REQUIRE(f->C_DigestUpdate(s, ptr(data), 1) == CKR_OK);
            REQUIRE(f->C_DigestUpdate(s, nullptr, 0) == CKR_OK);
            REQUIRE(f->C_DigestUpdate(s, ptr(data) + 1, data.size() - 1) == CKR_OK);
            len = 0;
            CHECK(f->C_DigestFinal(s, nullptr, &len) == CKR_OK);
            CHECK(len == expected.size());
            len = 1;
            CHECK(f->C_DigestFinal(s, out.data(), &len) == CKR_BUFFER_TOO_SMALL);
            CHECK(len == expected.size());
            len = out.size();
            REQUIRE(f->C_DigestFinal(s, out.data(), &len) == CKR_OK);
            CHECK(Bytes(out.begin(), out.begin() + static_cast<long>(len)) == expected);
        }
    }
    SECTION("operation state") {
        Mech m(CKM_SHA256);
        Bytes out(32);
        CK_ULONG len = out.size();
        CHECK(f->C_Digest(s, ptr(data), data.size(), out.data(), &len) == CKR_OPERATION_NOT_INITIALIZED);
        CHECK(f->C_DigestUpdate(s, ptr(data), data.size()) == CKR_OPERATION_NOT_INITIALIZED);
        CHECK(f->C_DigestFinal(s, out.data(), &len) == CKR_OPERATION_NOT_INITIALIZED);
        REQUIRE(f->C_DigestInit(s, m.get()) == CKR_OK);
        Mech other(CKM_SHA_1);
        CHECK(f->C_DigestInit(s, other.get()) == CKR_OPERATION_ACTIVE);
        REQUIRE(f->C_Digest(s, ptr(data), data.size(), out.data(), &len) == CKR_OK);
        CHECK(out == sha256(data));  // still the first digest
        Mech sign_mech(CKM_SHA256_RSA_PKCS);
        CHECK(f->C_DigestInit(s, sign_mech.get()) == CKR_MECHANISM_INVALID);
        Mech md5(CKM_MD5);
        CHECK(f->C_DigestInit(s, md5.get()) == CKR_MECHANISM_INVALID);
        CHECK(f->C_DigestInit(s, nullptr) == CKR_ARGUMENTS_BAD);
    }
}

// =============================================================================================
// 10. The PSS self-check
// =============================================================================================

namespace {
// After PSS was given up for a card: gone from both tokens' lists, infos and keys; PKCS#1 works.
void check_pss_gone(OneCard& c, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv) {
    CK_FUNCTION_LIST_PTR f = c.f;
    for (CK_SLOT_ID slot : c.slots) {
        CAPTURE(slot);
        const auto list = mechanism_list(f, slot);
        CHECK(list.size() == 11);
        CHECK(as_set(list) == unite(kPkcs1Mechs, kDigestMechs));
        for (CK_MECHANISM_TYPE type : kPssMechs) {
            CK_MECHANISM_INFO info{};
            CHECK(f->C_GetMechanismInfo(slot, type, &info) == CKR_MECHANISM_INVALID);
        }
        CK_MECHANISM_INFO info{};
        CHECK(f->C_GetMechanismInfo(slot, CKM_SHA256_RSA_PKCS, &info) == CKR_OK);
    }
    CHECK(mechanism_set(attribute(f, s, priv, CKA_ALLOWED_MECHANISMS)) == kPkcs1Mechs);
    CHECK(mechanism_set(attribute(f, s, only(f, s, CKO_PUBLIC_KEY), CKA_ALLOWED_MECHANISMS)) == kPkcs1Mechs);
    for (CK_MECHANISM_TYPE type : kPssMechs) {
        PssMech m(type);
        CHECK(f->C_SignInit(s, m.get(), priv) == CKR_MECHANISM_INVALID);
    }
    // PKCS#1 v1.5 signing goes on.
    const Bytes data = message(99);
    sign_and_verify(f, s, kSha256Pkcs1, priv, data, pki_file(1, "auth_cert.der"));
    const Bytes di = sha256_digest_info(data);
    CHECK(verify_pkcs1_raw(pki_file(1, "auth_cert.der"), di, sign(f, s, CKM_RSA_PKCS, priv, di)));
    CHECK_FALSE(c.card->auth_verified());
}
}  // namespace

TEST_CASE("module: objects: a card whose PSS signatures fail the self-check loses PSS", "[objects]") {
    sim::CardConfig config = card_config(1);
    config.pss_salt_length = 20;
    OneCard c(config);
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    CHECK(mechanism_list(f, c.slots[0]).size() == 13);  // trusted until it fails
    CHECK(mechanism_set(attribute(f, s, priv, CKA_ALLOWED_MECHANISMS)) == kSignMechs);
    const Bytes data = message(40);

    SECTION("CKM_RSA_PKCS_PSS") {
        PssMech m(CKM_RSA_PKCS_PSS);
        Bytes sig(kSigLen, 0xEE);
        REQUIRE(f->C_SignInit(s, m.get(), priv) == CKR_OK);
        CK_ULONG len = sig.size();
        const Bytes hash = sha256(data);
        CHECK(f->C_Sign(s, ptr(hash), hash.size(), sig.data(), &len) == CKR_DEVICE_ERROR);
        CHECK(sig == Bytes(kSigLen, 0xEE));  // the salt-20 signature is not handed out
        CHECK_FALSE(c.card->auth_verified());
        check_pss_gone(c, s, priv);
    }
    SECTION("CKM_SHA256_RSA_PKCS_PSS") {
        PssMech m(CKM_SHA256_RSA_PKCS_PSS);
        CHECK(sign_rv(f, s, m.get(), priv, data) == CKR_DEVICE_ERROR);
        check_pss_gone(c, s, priv);
    }
}

TEST_CASE("module: objects: a card without a PSS mode that says so before a PIN never shows PSS", "[objects]") {
    sim::CardConfig config = card_config(1);
    config.pss = false;  // and it looks at P1 before the security status: 6A86 without a PIN
    OneCard c(config);
    CK_FUNCTION_LIST_PTR f = c.f;
    // Before any mechanism is shown, one PSS request without a PIN: 6A86.
    const SentToCard sent(*c.card);
    CHECK(mechanism_list(f, c.slots[0]).size() == 11);
    CHECK(sent.pins() == 0);
    CHECK(count_commands(*c.card, 0x2A, [](const sim::LoggedApdu& l) { return l.sw == 0x6A86; }) == 1);
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    check_pss_gone(c, s, priv);
    CHECK(c.card->tries_left(false) == 3);
    // Once per card: nothing more is asked.
    mechanism_list(f, c.slots[1]);
    CHECK(count_commands(*c.card, 0x2A, [](const sim::LoggedApdu& l) { return l.sw == 0x6A86; }) == 1);
}

TEST_CASE("module: objects: a card with a PSS mode answers the PSS check 6982 and keeps PSS", "[objects]") {
    OneCard c;
    CHECK(mechanism_list(c.f, c.slots[0]).size() == 13);
    CHECK(count_commands(*c.card, 0x2A, [](const sim::LoggedApdu& l) { return l.header[2] == 0x04 && l.sw == 0x6982; }) ==
          1);
    CHECK_FALSE(c.card->auth_verified());
}

TEST_CASE("module: objects: a card without a PSS mode that checks the PIN first loses PSS when it refuses it",
          "[objects]") {
    sim::CardConfig config = card_config(1);
    config.pss = false;
    config.security_before_p1 = true;  // the PSS check learns nothing: 6982
    OneCard c(config);
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    CHECK(mechanism_list(f, c.slots[0]).size() == 13);

    // C_Sign answers a code PKCS#11 lists for it; the next C_SignInit with PSS is refused.
    SECTION("first thing signed") {
        PssMech m(CKM_RSA_PKCS_PSS);
        CHECK(sign_rv(f, s, m.get(), priv, sha256(message(5))) == CKR_FUNCTION_FAILED);
        CHECK_FALSE(c.card->auth_verified());
        check_pss_gone(c, s, priv);
    }
    SECTION("after a PKCS#1 signature") {
        sign(f, s, CKM_SHA1_RSA_PKCS, priv, message(5));
        PssMech m(CKM_SHA256_RSA_PKCS_PSS);
        CHECK(sign_rv(f, s, m.get(), priv, message(5)) == CKR_FUNCTION_FAILED);
        check_pss_gone(c, s, priv);
    }
    CHECK(c.card->tries_left(false) == 3);
}

// =============================================================================================
// 11. A card without the signature certificate
// =============================================================================================

TEST_CASE("module: objects: a card without the signature certificate has only the authentication token",
          "[objects]") {
    sim::CardConfig config = card_config(1);
    config.has_sign_cert = false;
    OneCard c(config);
    CK_FUNCTION_LIST_PTR f = c.f;
    REQUIRE(c.slots.size() == 1);
    CK_ULONG n = 0;
    REQUIRE(f->C_GetSlotList(CK_FALSE, nullptr, &n) == CKR_OK);
    CHECK(n == 2);
    const CK_SLOT_ID sign_slot = c.slots[0] + 1;
    CK_TOKEN_INFO info{};
    CHECK(f->C_GetTokenInfo(sign_slot, &info) == CKR_TOKEN_NOT_PRESENT);
    CK_SESSION_HANDLE none = CK_INVALID_HANDLE;
    CHECK(f->C_OpenSession(sign_slot, CKF_SERIAL_SESSION, nullptr, nullptr, &none) == CKR_TOKEN_NOT_PRESENT);
    CHECK(f->C_GetMechanismList(sign_slot, nullptr, &n) == CKR_TOKEN_NOT_PRESENT);

    CHECK(std::string(reinterpret_cast<char*>(token_info(f, c.slots[0]).label), 19) == "JPKI Authentication");
    CK_SESSION_HANDLE s = c.auth_session();
    CHECK(search(f, s, {}).size() == 3);
    CHECK(attribute(f, s, cert_of_category(f, s, 1), CKA_VALUE) == pki_file(1, "auth_cert.der"));
    CHECK(attribute(f, s, cert_of_category(f, s, 2), CKA_VALUE) == pki_file(1, "auth_ca.der"));
    REQUIRE(login(f, s, kAuthPin) == CKR_OK);
    const CK_OBJECT_HANDLE priv = only(f, s, CKO_PRIVATE_KEY);
    const Bytes data = message(77);
    const Bytes sig = sign_and_verify(f, s, kSha256Pkcs1, priv, data, pki_file(1, "auth_cert.der"));
    Mech m(CKM_SHA256_RSA_PKCS);
    REQUIRE(f->C_VerifyInit(s, m.get(), only(f, s, CKO_PUBLIC_KEY)) == CKR_OK);
    CHECK(f->C_Verify(s, ptr(data), data.size(), ptr(sig), sig.size()) == CKR_OK);
}

// =============================================================================================
// An error ends the operation (PKCS#11 2.40 5.10-5.13)
// =============================================================================================

// PKCS#11 2.40 5.10-5.13: a call that fails ends the operation in progress.
// 5.12: "A call to C_Sign always terminates the active signing operation unless it returns
// CKR_BUFFER_TOO_SMALL or is a successful call (i.e., one which returns CKR_OK) to determine the
// length of the buffer needed to hold the signature"; the same for C_SignFinal; "A call to
// C_SignUpdate which results in an error terminates the current signature operation."
// 5.10: C_Digest and C_DigestFinal always terminate the operation unless they return
// CKR_BUFFER_TOO_SMALL or answer a length query; "A call to C_DigestUpdate which results in an
// error terminates the current digest operation." Same early argument checks as for signing.
// 5.13: "A call to C_Verify always terminates the active verification operation"; "A call to
// C_VerifyUpdate which results in an error terminates the current verification operation."
// pData is checked before the operation is taken out.
// These tests once found CKR_ARGUMENTS_BAD leaving the operation active.
//
// One table for the three families. Each row is a section of its family's test case, run on a
// fresh card: `init` begins the operation (every call REQUIREd to answer CKR_OK), `failing` is
// REQUIREd to fail (with `refused_with`, or with any error when that is empty), and then
// `follow_up`, a call that would go on with the operation, is CHECKed to find none.

namespace {

enum class Family { Sign, Digest, Verify };

// What a row's calls work on: one card, one session, one operation begun by `init`.
struct Begun {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    const Bytes data = message(20);
    Bytes out;         // the signature or digest buffer, or the signature to verify
    CK_ULONG len = 0;  // its length, for C_Sign, C_SignFinal, C_Digest and C_DigestFinal
};

using BeginCall = void (*)(Begun&);
using Call = CK_RV (*)(Begun&);

struct ErrorEndsOperation {
    Family family;
    const char* failing_call;          // the section's name
    BeginCall init;                    // begins the operation
    Call failing;                      // REQUIREd to fail ...
    std::optional<CK_RV> refused_with; // ... with this (std::nullopt: with any error)
    Call follow_up;                    // CHECKed to answer CKR_OPERATION_NOT_INITIALIZED
};

// --- init: C_*Init on a fresh card, and for some rows a first part ---------------------------

void sign_init(Begun& b) {  // the authentication key, logged in, CKM_SHA256_RSA_PKCS
    b.s = b.c.logged_in_auth_session();
    const CK_OBJECT_HANDLE priv = only(b.f, b.s, CKO_PRIVATE_KEY);
    b.out = Bytes(kSigLen);
    b.len = b.out.size();
    Mech m(CKM_SHA256_RSA_PKCS);
    REQUIRE(b.f->C_SignInit(b.s, m.get(), priv) == CKR_OK);
}
void sign_init_and_update(Begun& b) {
    sign_init(b);
    REQUIRE(b.f->C_SignUpdate(b.s, ptr(b.data), b.data.size()) == CKR_OK);
}
void digest_init(Begun& b) {  // no login, CKM_SHA256
    b.s = b.c.auth_session();
    b.out = Bytes(32);
    b.len = b.out.size();
    Mech m(CKM_SHA256);
    REQUIRE(b.f->C_DigestInit(b.s, m.get()) == CKR_OK);
}
void digest_init_and_update(Begun& b) {
    digest_init(b);
    REQUIRE(b.f->C_DigestUpdate(b.s, ptr(b.data), b.data.size()) == CKR_OK);
}
void verify_init(Begun& b) {  // the authentication public key, no login, CKM_SHA256_RSA_PKCS
    b.s = b.c.auth_session();
    const CK_OBJECT_HANDLE pub = only(b.f, b.s, CKO_PUBLIC_KEY);
    b.out = Bytes(kSigLen);
    Mech m(CKM_SHA256_RSA_PKCS);
    REQUIRE(b.f->C_VerifyInit(b.s, m.get(), pub) == CKR_OK);
}

// --- follow-up: the call with good arguments that would go on with the operation -------------

CK_RV sign_all(Begun& b) { return b.f->C_Sign(b.s, ptr(b.data), b.data.size(), b.out.data(), &b.len); }
CK_RV sign_final(Begun& b) { return b.f->C_SignFinal(b.s, b.out.data(), &b.len); }
CK_RV digest_all(Begun& b) { return b.f->C_Digest(b.s, ptr(b.data), b.data.size(), b.out.data(), &b.len); }
CK_RV digest_final(Begun& b) { return b.f->C_DigestFinal(b.s, b.out.data(), &b.len); }
CK_RV verify_all(Begun& b) { return b.f->C_Verify(b.s, ptr(b.data), b.data.size(), b.out.data(), b.out.size()); }
CK_RV verify_final(Begun& b) { return b.f->C_VerifyFinal(b.s, b.out.data(), b.out.size()); }

constexpr ErrorEndsOperation kErrorEndsOperation[] = {
    {Family::Sign, "C_Sign with pData NULL and ulDataLen > 0", sign_init,
     [](Begun& b) { return b.f->C_Sign(b.s, nullptr, 10, b.out.data(), &b.len); }, CKR_ARGUMENTS_BAD, sign_all},
    {Family::Sign, "C_Sign with pulSignatureLen NULL", sign_init,
     [](Begun& b) { return b.f->C_Sign(b.s, ptr(b.data), b.data.size(), b.out.data(), nullptr); },
     CKR_ARGUMENTS_BAD, sign_all},
    {Family::Sign, "C_SignUpdate with pPart NULL and ulPartLen > 0", sign_init,
     [](Begun& b) { return b.f->C_SignUpdate(b.s, nullptr, 10); }, CKR_ARGUMENTS_BAD, sign_final},
    {Family::Sign, "C_SignFinal with pulSignatureLen NULL", sign_init_and_update,
     [](Begun& b) { return b.f->C_SignFinal(b.s, b.out.data(), nullptr); }, CKR_ARGUMENTS_BAD, sign_final},
    {Family::Sign, "C_Sign after C_SignUpdate", sign_init_and_update, sign_all, std::nullopt, sign_final},

    {Family::Digest, "C_Digest with pData NULL and ulDataLen > 0", digest_init,
     [](Begun& b) { return b.f->C_Digest(b.s, nullptr, 10, b.out.data(), &b.len); }, CKR_ARGUMENTS_BAD,
     digest_all},
    {Family::Digest, "C_Digest with pulDigestLen NULL", digest_init,
     [](Begun& b) { return b.f->C_Digest(b.s, ptr(b.data), b.data.size(), b.out.data(), nullptr); },
     CKR_ARGUMENTS_BAD, digest_all},
    {Family::Digest, "C_DigestUpdate with pPart NULL and ulPartLen > 0", digest_init,
     [](Begun& b) { return b.f->C_DigestUpdate(b.s, nullptr, 10); }, CKR_ARGUMENTS_BAD, digest_final},
    {Family::Digest, "C_DigestFinal with pulDigestLen NULL", digest_init_and_update,
     [](Begun& b) { return b.f->C_DigestFinal(b.s, b.out.data(), nullptr); }, CKR_ARGUMENTS_BAD, digest_final},
    {Family::Digest, "C_Digest after C_DigestUpdate", digest_init_and_update, digest_all, std::nullopt,
     digest_final},

    {Family::Verify, "C_Verify with pData NULL and ulDataLen > 0", verify_init,
     [](Begun& b) { return b.f->C_Verify(b.s, nullptr, 10, b.out.data(), b.out.size()); }, CKR_ARGUMENTS_BAD,
     verify_all},
    {Family::Verify, "C_VerifyUpdate with pPart NULL and ulPartLen > 0", verify_init,
     [](Begun& b) { return b.f->C_VerifyUpdate(b.s, nullptr, 10); }, CKR_ARGUMENTS_BAD, verify_final},
};

constexpr std::size_t rows_of(Family family) {
    std::size_t n = 0;
    for (const ErrorEndsOperation& row : kErrorEndsOperation) n += row.family == family ? 1 : 0;
    return n;
}
// Every case the three tests had before they shared this table.
static_assert(rows_of(Family::Sign) == 5 && rows_of(Family::Digest) == 5 && rows_of(Family::Verify) == 2);

void check_errors_end_operation(Family family) {
    for (const ErrorEndsOperation& row : kErrorEndsOperation) {
        if (row.family != family) continue;
        DYNAMIC_SECTION(row.failing_call) {
            Begun b;
            row.init(b);
            const CK_RV rv = row.failing(b);
            if (row.refused_with) {
                REQUIRE(rv == *row.refused_with);
            } else {
                REQUIRE(rv != CKR_OK);
            }
            CHECK(row.follow_up(b) == CKR_OPERATION_NOT_INITIALIZED);
        }
    }
}

}  // namespace

TEST_CASE("module: objects: an error from C_Sign, C_SignUpdate or C_SignFinal ends the signing operation",
          "[objects]") {
    check_errors_end_operation(Family::Sign);
}

TEST_CASE("module: objects: an error from C_Digest, C_DigestUpdate or C_DigestFinal ends the digest operation",
          "[objects]") {
    check_errors_end_operation(Family::Digest);
}

TEST_CASE("module: objects: an error from C_Verify or C_VerifyUpdate ends the verification operation",
          "[objects]") {
    check_errors_end_operation(Family::Verify);
}

TEST_CASE("module: objects: the PIN kept since C_Login is not sent once the counter moved elsewhere", "[objects]") {
    OneCard c;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    c.card->set_tries_left(false, 2);  // a wrong PIN typed in another program since our login
    const std::size_t before = c.card->verify_with_data_count();
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t{CKA_CLASS, &cls, sizeof cls};
    CK_OBJECT_HANDLE key;
    CK_ULONG n = 0;
    REQUIRE(c.f->C_FindObjectsInit(s, &t, 1) == CKR_OK);
    REQUIRE(c.f->C_FindObjects(s, &key, 1, &n) == CKR_OK);
    REQUIRE(c.f->C_FindObjectsFinal(s) == CKR_OK);
    REQUIRE(n == 1);
    CK_MECHANISM m{CKM_SHA256_RSA_PKCS, nullptr, 0};
    REQUIRE(c.f->C_SignInit(s, &m, key) == CKR_OK);
    CK_BYTE data[] = {1, 2, 3};
    CK_BYTE sig[256];
    CK_ULONG len = sizeof sig;
    CHECK(c.f->C_Sign(s, data, sizeof data, sig, &len) == CKR_USER_NOT_LOGGED_IN);
    CHECK(c.card->verify_with_data_count() == before);  // no try spent in the background
    CHECK(c.card->tries_left(false) == 2);
    CK_SESSION_INFO info;
    REQUIRE(c.f->C_GetSessionInfo(s, &info) == CKR_OK);
    CHECK(info.state == CKS_RO_PUBLIC_SESSION);  // logged out: the user must type the PIN again
}
