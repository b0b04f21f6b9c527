// PKCS#11's fixed-size text fields: blank-padded, not NUL-terminated.
#pragma once

#include "pkcs11/pkcs11.h"

#include <cstring>
#include <string>

namespace jpki::p11 {

template <std::size_t N>
void set_text(CK_UTF8CHAR (&field)[N], const std::string& text) {
    std::memset(field, ' ', N);
    std::memcpy(field, text.data(), std::min(N, text.size()));
}

}  // namespace jpki::p11
