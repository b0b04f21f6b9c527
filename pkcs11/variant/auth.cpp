// The module file that shows only the authentication token (jpki-pkcs11-auth.so).
#include "pkcs11/module_variant.h"

namespace jpki::p11 {

namespace {
const TokenRole kRoles[] = {TokenRole::Auth};
}  // namespace

const ModuleVariant& module_variant() {
    static const ModuleVariant v{kRoles, 1, "JPKI My Number Card (auth)"};
    return v;
}

}  // namespace jpki::p11
