#include "crypto/rsa_verify.h"

#include <openssl/rsa.h>

namespace jpki::crypto {

bool verify_pkcs1_raw(EVP_PKEY* key, const Bytes& data, const Bytes& signature) {
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1)
        return false;
    return EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), data.data(), data.size()) == 1;
}

bool verify_pss(EVP_PKEY* key, HashAlg alg, HashAlg mgf, int salt, const Bytes& hash, const Bytes& signature) {
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), evp_md(alg)) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), evp_md(mgf)) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), salt) != 1)
        return false;
    return EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), hash.data(), hash.size()) == 1;
}

}  // namespace jpki::crypto
