// What a function called with a session handle works on: the module state, the session's
// slot and token role, and the card (checked still present: a card that left closes the
// session and gives CKR_DEVICE_REMOVED).
#pragma once

#include "pkcs11/module.h"

#include <memory>

namespace jpki::p11 {

struct SessionContext {
    std::shared_ptr<ModuleState> st;
    CK_SLOT_ID slot;
    TokenRole role;
    std::shared_ptr<CardState> card;
};

SessionContext session_context(CK_SESSION_HANDLE handle);

}  // namespace jpki::p11
