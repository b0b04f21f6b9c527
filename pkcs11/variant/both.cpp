// The module file that shows both tokens of each card (jpki-pkcs11.so).
#include "pkcs11/module_variant.h"

namespace jpki::p11 {

namespace {
const TokenRole kRoles[] = {TokenRole::Auth, TokenRole::Sign};
}  // namespace

const ModuleVariant& module_variant() {
    static const ModuleVariant v{kRoles, sizeof kRoles / sizeof kRoles[0], "JPKI My Number Card PKCS#11"};
    return v;
}

}  // namespace jpki::p11
