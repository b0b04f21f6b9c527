#include "crypto/libctx.h"

#include <openssl/evp.h>
#include <openssl/provider.h>

#include <stdexcept>

namespace jpki::crypto {

namespace {

OSSL_LIB_CTX* make_libctx() {
    OSSL_LIB_CTX* ctx = OSSL_LIB_CTX_new();
    if (!ctx || !OSSL_PROVIDER_load(ctx, "default")) throw std::runtime_error("OpenSSL: no default provider");
    return ctx;
}

const EVP_MD* fetch(const char* name) {
    EVP_MD* md = EVP_MD_fetch(module_libctx(), name, nullptr);
    if (!md) throw std::runtime_error(std::string("OpenSSL: no digest ") + name);
    return md;  // kept for the life of the process, as the context is
}

}  // namespace

OSSL_LIB_CTX* module_libctx() {
    static OSSL_LIB_CTX* const ctx = make_libctx();  // thread-safe initialisation
    return ctx;
}

const EVP_MD* evp_md(HashAlg alg) {
    static const EVP_MD* const sha1 = fetch("SHA1");
    static const EVP_MD* const sha224 = fetch("SHA224");
    static const EVP_MD* const sha256 = fetch("SHA256");
    static const EVP_MD* const sha384 = fetch("SHA384");
    static const EVP_MD* const sha512 = fetch("SHA512");
    switch (alg) {
    case HashAlg::Sha1: return sha1;
    case HashAlg::Sha224: return sha224;
    case HashAlg::Sha256: return sha256;
    case HashAlg::Sha384: return sha384;
    case HashAlg::Sha512: return sha512;
    }
    return sha256;
}

}  // namespace jpki::crypto
