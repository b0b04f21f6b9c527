// Which tokens of each card this module file shows, fixed when it is built: jpki-pkcs11.so both
// (two slots per reader), jpki-pkcs11-auth.so only the authentication token and
// jpki-pkcs11-sign.so only the signature token (one slot per reader). Programs that log in to
// every token of a module (NSS looking for client certificates, pdfsig giving one password to
// all) get a module with the one token they need. Each file links one of pkcs11/variant/*.cpp.
#pragma once

#include "pkcs11/token_role.h"

#include <cstddef>

namespace jpki::p11 {

struct ModuleVariant {
    const TokenRole* roles;  // the tokens of each reader, in slot order
    std::size_t role_count;
    const char* description;  // CK_INFO.libraryDescription
};

const ModuleVariant& module_variant();

}  // namespace jpki::p11
