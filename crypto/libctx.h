// The module's own OpenSSL library context, with only OpenSSL's default provider loaded and
// no configuration read. Every fetch of crypto/ goes through it, never through the global
// context: an application that loads OpenSSL's pkcs11-provider (preferred there, or even
// listed first) would otherwise make the module's own hashing call back into the module, from
// inside a PKCS#11 call, under its lock (a deadlock). Private to crypto/.
#pragma once

#include "crypto/digest.h"

#include <openssl/types.h>

namespace jpki::crypto {

// Made on first use; released when the library is unloaded (or the process exits), after
// which crypto/ fails cleanly (std::runtime_error). Its mutex is a leaf lock.
OSSL_LIB_CTX* module_libctx();
// A digest fetched from module_libctx() (fetched once per algorithm).
const EVP_MD* evp_md(HashAlg alg);

}  // namespace jpki::crypto
