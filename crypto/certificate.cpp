#include "crypto/certificate.h"

#include "crypto/libctx.h"
#include "crypto/openssl_ptr.h"

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/sha.h>

#include <ctime>
#include <stdexcept>

namespace jpki::crypto {

namespace {

template <typename T, int (*I2d)(const T*, unsigned char**)>
Bytes to_der(const T* obj) {
    const int len = I2d(obj, nullptr);
    if (len <= 0) throw std::runtime_error("DER encoding failed");
    Bytes out(static_cast<std::size_t>(len));
    unsigned char* p = out.data();
    I2d(obj, &p);
    return out;
}

int i2d_name(const X509_NAME* n, unsigned char** out) { return i2d_X509_NAME(n, out); }
int i2d_integer(const ASN1_INTEGER* n, unsigned char** out) { return i2d_ASN1_INTEGER(n, out); }
int i2d_pubkey(const X509_PUBKEY* k, unsigned char** out) { return i2d_X509_PUBKEY(k, out); }

std::string yyyymmdd(const ASN1_TIME* t) {
    struct tm tm {};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return "";
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d%02d%02d", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100, tm.tm_mday % 100);
    return buf;
}

Bytes bn_bytes(EVP_PKEY* key, const char* name) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) throw std::runtime_error("not an RSA key");
    BignumPtr bn(raw);
    Bytes out(static_cast<std::size_t>(BN_num_bytes(bn.get())));
    BN_bn2bin(bn.get(), out.data());
    return out;
}

X509Ptr parse(const Bytes& der) {
    const unsigned char* p = der.data();
    // d2i_X509 frees the object it was given when decoding fails (and sets it to NULL): the
    // pointer is owned only once it succeeded.
    X509* raw = X509_new_ex(module_libctx(), nullptr);
    if (!raw) throw std::runtime_error("X509_new_ex");
    if (!d2i_X509(&raw, &p, static_cast<long>(der.size()))) {
        X509_free(raw);  // NULL after a failed decode; freed here if OpenSSL kept it
        throw std::runtime_error("not an X.509 certificate");
    }
    return X509Ptr(raw);
}

}  // namespace

EvpPkeyPtr rsa_public_key(const Bytes& der) {
    X509Ptr cert = parse(der);
    EvpPkeyPtr key(X509_get_pubkey(cert.get()));
    if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) throw std::runtime_error("certificate key is not RSA");
    return key;
}

CertificateInfo parse_certificate(const Bytes& der) {
    X509Ptr cert = parse(der);
    CertificateInfo info;
    info.der = der;
    info.subject = to_der<X509_NAME, i2d_name>(X509_get_subject_name(cert.get()));
    info.issuer = to_der<X509_NAME, i2d_name>(X509_get_issuer_name(cert.get()));
    info.serial_number = to_der<ASN1_INTEGER, i2d_integer>(X509_get0_serialNumber(cert.get()));
    info.public_key_info = to_der<X509_PUBKEY, i2d_pubkey>(X509_get_X509_PUBKEY(cert.get()));
    info.not_before = yyyymmdd(X509_get0_notBefore(cert.get()));
    info.not_after = yyyymmdd(X509_get0_notAfter(cert.get()));
    EvpPkeyPtr key = rsa_public_key(der);
    info.modulus = bn_bytes(key.get(), OSSL_PKEY_PARAM_RSA_N);
    info.public_exponent = bn_bytes(key.get(), OSSL_PKEY_PARAM_RSA_E);
    info.modulus_bits = static_cast<std::size_t>(EVP_PKEY_get_bits(key.get()));
    const int cn = X509_NAME_get_index_by_NID(X509_get_subject_name(cert.get()), NID_commonName, -1);
    if (cn >= 0) {
        const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(X509_get_subject_name(cert.get()), cn));
        unsigned char* utf8 = nullptr;
        const int n = ASN1_STRING_to_UTF8(&utf8, s);
        if (n > 0) info.common_name.assign(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
        OPENSSL_free(utf8);
    }
    const ASN1_BIT_STRING* bits = X509_get0_pubkey_bitstr(cert.get());
    if (bits) {
        info.public_key_sha1.resize(SHA_DIGEST_LENGTH);
        if (EVP_Digest(bits->data, static_cast<std::size_t>(bits->length), info.public_key_sha1.data(), nullptr,
                       evp_md(HashAlg::Sha1), nullptr) != 1)
            throw std::runtime_error("SHA-1 of the public key");
    }
    return info;
}

}  // namespace jpki::crypto
