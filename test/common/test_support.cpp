#include "test/common/test_support.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

namespace jpki::test {

namespace {
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;

X509Ptr parse_cert(const Bytes& der) {
    const unsigned char* p = der.data();
    return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
}
}  // namespace

std::string pki_card_dir(int n) { return std::string(JPKI_TEST_PKI) + "/card" + std::to_string(n); }

sim::CardConfig card_config(int n) {
    sim::CardConfig c;
    c.pki_dir = pki_card_dir(n);
    c.serial = "JPKISIMCARD0000" + std::to_string(n);
    c.auth_pin = kAuthPin;
    c.sign_pin = kSignPin;
    return c;
}

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Bytes sha256(const Bytes& message) {
    Bytes h(SHA256_DIGEST_LENGTH);
    SHA256(message.data(), message.size(), h.data());
    return h;
}

Bytes sha256_digest_info(const Bytes& message) {
    Bytes di = {0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    Bytes h = sha256(message);
    di.insert(di.end(), h.begin(), h.end());
    return di;
}

bool verify_pkcs1_raw(const Bytes& cert_der, const Bytes& digest_info, const Bytes& signature) {
    X509Ptr cert = parse_cert(cert_der);
    if (!cert) return false;
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr), EVP_PKEY_CTX_free);
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) <= 0)
        return false;
    return EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest_info.data(), digest_info.size()) == 1;
}

bool verify_pss_sha256(const Bytes& cert_der, const Bytes& hash, const Bytes& signature, int salt_len) {
    X509Ptr cert = parse_cert(cert_der);
    if (!cert) return false;
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr), EVP_PKEY_CTX_free);
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), salt_len) <= 0)
        return false;
    return EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), hash.data(), hash.size()) == 1;
}

CapturedTrace::CapturedTrace() {
    char name[] = "/tmp/jpki-trace-XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    close(fd);
    path_ = name;
    if (const char* v = std::getenv("JPKI_TRACE")) {
        previous_ = v;
        had_previous_ = true;
    }
    setenv("JPKI_TRACE", path_.c_str(), 1);
}

CapturedTrace::~CapturedTrace() {
    if (had_previous_) setenv("JPKI_TRACE", previous_.c_str(), 1);
    else unsetenv("JPKI_TRACE");
    std::remove(path_.c_str());
}

std::string CapturedTrace::take() {
    const Bytes b = read_file(path_);
    std::ofstream(path_, std::ios::trunc);
    return std::string(b.begin(), b.end());
}

}  // namespace jpki::test
