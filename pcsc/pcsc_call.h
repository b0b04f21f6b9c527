// The one place where a PC/SC result code becomes a CardError: every SCard* call goes through
// pcsc_check, which names the call in the error (as libpcsc-cpp's SCardCall does).
#pragma once

#include "card/card_error.h"

#include <PCSC/winscard.h>

#include <initializer_list>

namespace jpki {

CardErrc errc_from_pcsc(LONG rv) noexcept;
[[noreturn]] void throw_pcsc(LONG rv, const char* call);

// Returns `rv` when it is SCARD_S_SUCCESS or one of `handled` (the caller deals with those);
// throws the CardError for anything else.
inline LONG pcsc_check(const char* call, LONG rv, std::initializer_list<LONG> handled = {}) {
    if (rv == SCARD_S_SUCCESS) return rv;
    for (LONG h : handled)
        if (rv == h) return rv;
    throw_pcsc(rv, call);
}

}  // namespace jpki
