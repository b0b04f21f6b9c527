#include "pkcs11/pin_input.h"

#include "card/card_error.h"
#include "common/trace.h"
#include "pkcs11/pkcs11_error.h"

#include <string>

namespace jpki::p11 {

namespace {

const char* rule_of(TokenRole role, CardErrc broken) {
    const bool length = broken == CardErrc::PinLength;
    if (role == TokenRole::Auth)
        return length ? "the authentication PIN has exactly 4 characters" : "the authentication PIN is digits 0-9 only";
    return length ? "the signature password has 6 to 16 characters" : "the signature password is A-Z and 0-9 only";
}

template <typename OnFormatError>
Pin parse_or(const char* function, TokenRole role, const CK_UTF8CHAR* pin, CK_ULONG len, OnFormatError on_error) {
    try {
        return Pin::parse(pin_of(role), pin, len);
    } catch (const CardError& e) {
        if (e.code() != CardErrc::PinLength && e.code() != CardErrc::PinCharacters) throw;
        trace_line(std::string(function) + ": PIN refused before sending, nothing sent, no try spent: " +
                   rule_of(role, e.code()));
        on_error(e);
        throw;
    }
}

}  // namespace

Pin entered_pin(const char* function, TokenRole role, const CK_UTF8CHAR* pin, CK_ULONG len) {
    return parse_or(function, role, pin, len, [](const CardError&) { fail(CKR_PIN_INCORRECT); });
}

Pin pin_to_set(const char* function, TokenRole role, const CK_UTF8CHAR* pin, CK_ULONG len) {
    return parse_or(function, role, pin, len, [](const CardError& e) { fail(rv_for(e)); });
}

}  // namespace jpki::p11
