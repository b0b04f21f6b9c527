// Errors inside the PKCS#11 layer: a Pkcs11Error carries the CK_RV the C ABI returns.
// Card-layer errors are translated in one place, rv_for().
#pragma once

#include "card/card_error.h"
#include "pkcs11/pkcs11.h"

#include <stdexcept>

namespace jpki::p11 {

class Pkcs11Error : public std::runtime_error {
public:
    explicit Pkcs11Error(CK_RV rv, const char* what = "PKCS#11 error") : std::runtime_error(what), rv_(rv) {}
    CK_RV rv() const noexcept { return rv_; }

private:
    CK_RV rv_;
};

[[noreturn]] inline void fail(CK_RV rv) { throw Pkcs11Error(rv); }

// What a card-layer error means to a PKCS#11 caller.
CK_RV rv_for(const CardError& e) noexcept;

// The name of a CK_RV, for traces ("CKR_PIN_INCORRECT").
const char* rv_name(CK_RV rv) noexcept;

}  // namespace jpki::p11
