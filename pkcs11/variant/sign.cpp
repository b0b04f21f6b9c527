// The module file that shows only the signature token (jpki-pkcs11-sign.so).
#include "pkcs11/module_variant.h"

namespace jpki::p11 {

namespace {
const TokenRole kRoles[] = {TokenRole::Sign};
}  // namespace

const ModuleVariant& module_variant() {
    static const ModuleVariant v{kRoles, sizeof kRoles / sizeof kRoles[0], "JPKI My Number Card (sign)"};
    return v;
}

}  // namespace jpki::p11
