// crypto/: digests and DigestInfo, certificate parsing, RSA signature checks.
#include "crypto/certificate.h"
#include "crypto/digest.h"
#include "crypto/openssl_ptr.h"
#include "crypto/rsa_verify.h"
#include "test/common/test_support.h"

#include <catch2/catch.hpp>

#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdio>

using namespace jpki;
using namespace jpki::crypto;

namespace {

EvpPkeyPtr private_key(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "r");
    REQUIRE(f);
    EvpPkeyPtr k(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    REQUIRE(k);
    return k;
}

Bytes sign_raw(EVP_PKEY* key, const Bytes& data, int padding, const EVP_MD* md = nullptr, int salt = 0) {
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
    REQUIRE(EVP_PKEY_sign_init(ctx.get()) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), padding) == 1);
    if (md) {
        REQUIRE(EVP_PKEY_CTX_set_signature_md(ctx.get(), md) == 1);
        REQUIRE(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) == 1);
        REQUIRE(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), salt) == 1);
    }
    std::size_t len = 0;
    REQUIRE(EVP_PKEY_sign(ctx.get(), nullptr, &len, data.data(), data.size()) == 1);
    Bytes sig(len);
    REQUIRE(EVP_PKEY_sign(ctx.get(), sig.data(), &len, data.data(), data.size()) == 1);
    sig.resize(len);
    return sig;
}

}  // namespace

TEST_CASE("crypto: DigestInfo is the DER X509_SIG OpenSSL parses, for every hash", "[crypto]") {
    const Bytes msg = {'a', 'b', 'c'};
    for (auto [alg, nid] : {std::pair{HashAlg::Sha1, NID_sha1}, std::pair{HashAlg::Sha224, NID_sha224},
                            std::pair{HashAlg::Sha256, NID_sha256}, std::pair{HashAlg::Sha384, NID_sha384},
                            std::pair{HashAlg::Sha512, NID_sha512}}) {
        const Bytes h = hash(alg, msg.data(), msg.size());
        CHECK(h.size() == hash_size(alg));
        const Bytes di = digest_info(alg, h);
        const unsigned char* p = di.data();
        X509_SIG* sig = d2i_X509_SIG(nullptr, &p, static_cast<long>(di.size()));
        REQUIRE(sig);
        CHECK(p == di.data() + di.size());  // nothing left over
        const X509_ALGOR* algor = nullptr;
        const ASN1_OCTET_STRING* digest = nullptr;
        X509_SIG_get0(sig, &algor, &digest);
        const ASN1_OBJECT* oid = nullptr;
        X509_ALGOR_get0(&oid, nullptr, nullptr, algor);
        CHECK(OBJ_obj2nid(oid) == nid);
        CHECK(Bytes(digest->data, digest->data + digest->length) == h);
        X509_SIG_free(sig);
    }
    CHECK(test::sha256_digest_info(msg) == digest_info(HashAlg::Sha256, hash(HashAlg::Sha256, msg.data(), 3)));
}

TEST_CASE("crypto: incremental digests equal one-shot ones", "[crypto]") {
    Digest d(HashAlg::Sha384);
    d.update(reinterpret_cast<const std::uint8_t*>("hello "), 6);
    d.update(reinterpret_cast<const std::uint8_t*>("world"), 5);
    d.update(nullptr, 0);
    CHECK(d.finish() == hash(HashAlg::Sha384, reinterpret_cast<const std::uint8_t*>("hello world"), 11));
}

TEST_CASE("crypto: certificate fields match what OpenSSL reads", "[crypto]") {
    const Bytes der = test::read_file(test::pki_card_dir(1) + "/auth_cert.der");
    CertificateInfo info = parse_certificate(der);
    const unsigned char* p = der.data();
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
    REQUIRE(x);
    unsigned char* out = nullptr;
    int n = i2d_X509_NAME(X509_get_subject_name(x), &out);
    CHECK(info.subject == Bytes(out, out + n));
    OPENSSL_free(out);
    out = nullptr;
    n = i2d_X509_NAME(X509_get_issuer_name(x), &out);
    CHECK(info.issuer == Bytes(out, out + n));
    OPENSSL_free(out);
    out = nullptr;
    n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &out);
    CHECK(info.serial_number == Bytes(out, out + n));
    OPENSSL_free(out);
    X509_free(x);
    CHECK(info.modulus_bits == 2048);
    CHECK(info.modulus.size() == 256);
    CHECK(info.public_exponent == Bytes{0x01, 0x00, 0x01});
    CHECK(info.not_before.size() == 8);
    CHECK(info.not_after > info.not_before);
    CHECK(info.common_name.size() == 20);
    CHECK(info.public_key_sha1.size() == 20);
    CHECK(info.der == der);
}

TEST_CASE("crypto: garbage is not a certificate", "[crypto]") {
    CHECK_THROWS(parse_certificate(Bytes{0x30, 0x03, 0x02, 0x01, 0x01}));
    CHECK_THROWS(parse_certificate(Bytes{}));
    CHECK_THROWS(verify_pkcs1(Bytes(100, 0xFF), Bytes{1}, Bytes(256, 0)));
}

TEST_CASE("crypto: PKCS#1 and PSS checks accept the right signature and nothing else", "[crypto]") {
    const Bytes cert = test::read_file(test::pki_card_dir(1) + "/auth_cert.der");
    const Bytes other = test::read_file(test::pki_card_dir(2) + "/auth_cert.der");
    EvpPkeyPtr key = private_key(test::pki_card_dir(1) + "/auth_key.pem");
    const Bytes msg = {'m'};
    const Bytes di = test::sha256_digest_info(msg);
    Bytes sig = sign_raw(key.get(), di, RSA_PKCS1_PADDING);
    CHECK(verify_pkcs1(cert, di, sig));
    CHECK_FALSE(verify_pkcs1(other, di, sig));
    Bytes bad = sig;
    bad[10] ^= 1;
    CHECK_FALSE(verify_pkcs1(cert, di, bad));

    const Bytes h = test::sha256(msg);
    Bytes pss = sign_raw(key.get(), h, RSA_PKCS1_PSS_PADDING, EVP_sha256(), 32);
    CHECK(verify_pss(cert, {HashAlg::Sha256, HashAlg::Sha256, 32}, h, pss));
    CHECK_FALSE(verify_pss(cert, {HashAlg::Sha256, HashAlg::Sha256, 20}, h, pss));
    CHECK_FALSE(verify_pss(cert, {HashAlg::Sha256, HashAlg::Sha1, 32}, h, pss));
    Bytes pss20 = sign_raw(key.get(), h, RSA_PKCS1_PSS_PADDING, EVP_sha256(), 20);
    CHECK_FALSE(verify_pss(cert, {HashAlg::Sha256, HashAlg::Sha256, 32}, h, pss20));
    // A PKCS#1 signature is not a PSS one.
    CHECK_FALSE(verify_pss(cert, {HashAlg::Sha256, HashAlg::Sha256, 32}, h, sig));
}
