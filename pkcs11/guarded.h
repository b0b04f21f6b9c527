// How the C ABI calls into the C++ module: every exception becomes a CK_RV, and the trace
// gets one line per call (its name and result; arguments are never traced, a PIN is one).
#pragma once

#include "card/card_error.h"
#include "common/trace.h"
#include "pkcs11/pkcs11_error.h"

#include <new>
#include <string>

namespace jpki::p11 {

template <typename F>
CK_RV guarded(const char* name, F&& f) noexcept {
    CK_RV rv;
    try {
        f();
        rv = CKR_OK;
    } catch (const Pkcs11Error& e) {
        rv = e.rv();
    } catch (const jpki::CardError& e) {
        rv = rv_for(e);
    } catch (const std::bad_alloc&) {
        rv = CKR_HOST_MEMORY;
    } catch (...) {
        rv = CKR_GENERAL_ERROR;
    }
    if (jpki::trace_enabled()) {
        try {
            jpki::trace_line(std::string(name) + " -> " + rv_name(rv));
        } catch (...) {
        }
    }
    return rv;
}

// For a function whose result is a CK_RV other than an error (C_WaitForSlotEvent's NO_EVENT).
template <typename F>
CK_RV guarded_rv(const char* name, F&& f) noexcept {
    CK_RV out = CKR_OK;
    const CK_RV rv = guarded(name, [&] { out = f(); });
    return rv == CKR_OK ? out : rv;
}

}  // namespace jpki::p11
