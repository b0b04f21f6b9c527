#include "crypto/libctx.h"

#include <openssl/evp.h>
#include <openssl/provider.h>

#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>

namespace jpki::crypto {

namespace {

constexpr const char* kDigestNames[] = {"SHA1", "SHA224", "SHA256", "SHA384", "SHA512"};
constexpr std::size_t kDigests = sizeof kDigestNames / sizeof kDigestNames[0];

struct Context {
    std::mutex mutex;
    OSSL_LIB_CTX* ctx = nullptr;
    OSSL_PROVIDER* provider = nullptr;
    EVP_MD* digests[kDigests] = {};
    bool released = false;  // unloading or exiting: no new context (OpenSSL may be gone)
};
// Never destroyed (a client may call the module from its exit handlers); what it holds is
// released when the library is unloaded or the process exits (release(), below).
Context& g_context = *new Context;

// Registered with atexit() when the context is made, so after OpenSSL registered its own
// cleanup: it runs at dlclose() of this library (atexit in a shared library is bound to it) or
// at exit, before OpenSSL cleans up. A module loaded and unloaded many times leaks nothing.
void release() {
    std::lock_guard<std::mutex> lock(g_context.mutex);
    for (EVP_MD*& md : g_context.digests) {
        EVP_MD_free(md);
        md = nullptr;
    }
    OSSL_PROVIDER_unload(g_context.provider);
    g_context.provider = nullptr;
    OSSL_LIB_CTX_free(g_context.ctx);
    g_context.ctx = nullptr;
    g_context.released = true;
}

// With g_context.mutex held.
OSSL_LIB_CTX* made_locked() {
    if (g_context.ctx) return g_context.ctx;
    if (g_context.released) throw std::runtime_error("OpenSSL: the module is being unloaded");
    OSSL_LIB_CTX* ctx = OSSL_LIB_CTX_new();
    OSSL_PROVIDER* provider = ctx ? OSSL_PROVIDER_load(ctx, "default") : nullptr;
    if (!provider) {
        OSSL_LIB_CTX_free(ctx);
        throw std::runtime_error("OpenSSL: no default provider");
    }
    EVP_MD* digests[kDigests] = {};
    for (std::size_t i = 0; i < kDigests; ++i) {
        digests[i] = EVP_MD_fetch(ctx, kDigestNames[i], nullptr);
        if (!digests[i]) {
            for (EVP_MD* md : digests) EVP_MD_free(md);
            OSSL_PROVIDER_unload(provider);
            OSSL_LIB_CTX_free(ctx);
            throw std::runtime_error(std::string("OpenSSL: no digest ") + kDigestNames[i]);
        }
    }
    static const bool registered = std::atexit(release) == 0;
    (void)registered;
    g_context.ctx = ctx;
    g_context.provider = provider;
    for (std::size_t i = 0; i < kDigests; ++i) g_context.digests[i] = digests[i];
    return ctx;
}

std::size_t index_of(HashAlg alg) {
    switch (alg) {
    case HashAlg::Sha1: return 0;
    case HashAlg::Sha224: return 1;
    case HashAlg::Sha256: return 2;
    case HashAlg::Sha384: return 3;
    case HashAlg::Sha512: return 4;
    }
    return 2;
}

}  // namespace

OSSL_LIB_CTX* module_libctx() {
    std::lock_guard<std::mutex> lock(g_context.mutex);
    return made_locked();
}

const EVP_MD* evp_md(HashAlg alg) {
    std::lock_guard<std::mutex> lock(g_context.mutex);
    made_locked();
    return g_context.digests[index_of(alg)];
}

}  // namespace jpki::crypto
