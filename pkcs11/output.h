// PKCS#11 2.40 section 5.2, the rules for returning output through a caller's buffer: a NULL
// buffer asks only for the length (CKR_OK); a buffer too small gets the length and
// CKR_BUFFER_TOO_SMALL; otherwise the output is copied and its length set.
#pragma once

#include "pkcs11/pkcs11_error.h"

#include <algorithm>
#include <cstddef>
#include <vector>

namespace jpki::p11 {

// True when `out` has room for `needed` items: the caller then writes them. False for a
// length query, with *len set. Throws CKR_BUFFER_TOO_SMALL (with *len set) when it is too small.
template <typename T>
bool has_room(const T* out, CK_ULONG_PTR len, std::size_t needed) {
    if (!out) {
        *len = needed;
        return false;
    }
    if (*len < needed) {
        *len = needed;
        fail(CKR_BUFFER_TOO_SMALL);
    }
    return true;
}

// Copies `items` out under the rules above.
template <typename T>
void copy_out(const std::vector<T>& items, T* out, CK_ULONG_PTR len) {
    if (!has_room(out, len, items.size())) return;
    std::copy(items.begin(), items.end(), out);
    *len = items.size();
}

}  // namespace jpki::p11
