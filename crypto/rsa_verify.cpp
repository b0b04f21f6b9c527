#include "crypto/rsa_verify.h"

#include "crypto/libctx.h"
#include "crypto/openssl_ptr.h"

#include <openssl/rsa.h>

namespace jpki::crypto {

bool verify_pkcs1(const Bytes& certificate_der, const Bytes& data, const Bytes& signature) {
    EvpPkeyPtr key = rsa_public_key(certificate_der);
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(module_libctx(), key.get(), nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1)
        return false;
    return EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), data.data(), data.size()) == 1;
}

bool verify_pss(const Bytes& certificate_der, const PssParams& params, const Bytes& hash, const Bytes& signature) {
    EvpPkeyPtr key = rsa_public_key(certificate_der);
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(module_libctx(), key.get(), nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), evp_md(params.hash)) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), evp_md(params.mgf1_hash)) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), params.salt_length) != 1)
        return false;
    return EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), hash.data(), hash.size()) == 1;
}

}  // namespace jpki::crypto
