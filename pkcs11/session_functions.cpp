// C_OpenSession, C_CloseSession, C_CloseAllSessions, C_GetSessionInfo, C_Login, C_Logout.
// Login belongs to the token (shared by all its sessions); closing its last session logs out.
#include "pkcs11/call.h"
#include "pkcs11/functions.h"
#include "pkcs11/pin_input.h"

#include <cstring>

namespace jpki::p11 {

namespace {

void logout_if_last(ModuleState& st, CK_SLOT_ID slot, const std::shared_ptr<CardState>& card) {
    if (!card || st.sessions.count(slot) != 0) return;
    card->logout(st.slots.slot(slot).role);  // login state only: never waits for card I/O
}

}  // namespace

void open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_SESSION_HANDLE_PTR session) {
    state();
    require_args(session != nullptr);
    with_slot(slot, SlotNeed::Slot, [&](const SlotCall& c) {
        if (!(flags & CKF_SERIAL_SESSION)) fail(CKR_SESSION_PARALLEL_NOT_SUPPORTED);
        if (!c.card) fail(CKR_TOKEN_NOT_PRESENT);
        // Read-write sessions are accepted: OpenSSH and pkcs11-tool --test always ask for one,
        // and PKCS#11 allows only read-only sessions on a token flagged CKF_WRITE_PROTECTED, so
        // the tokens do not carry that flag. Nothing can be written all the same: every function
        // that would create, change or destroy an object answers CKR_TOKEN_WRITE_PROTECTED.
        std::lock_guard<Mutex> lock(*c.st->mutex);
        *session = c.st->sessions.open(slot, flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION), c.card);
    });
}

void close_session(CK_SESSION_HANDLE handle) {
    with_session(handle, Need::Session, [&](const SessionCall& c) {
        std::lock_guard<Mutex> lock(*c.st->mutex);
        c.st->sessions.close(handle);
        logout_if_last(*c.st, c.slot, c.card);
    });
}

void close_all_sessions(CK_SLOT_ID slot) {
    with_slot(slot, SlotNeed::Slot, [&](const SlotCall& c) {
        std::lock_guard<Mutex> lock(*c.st->mutex);
        c.st->sessions.close_slot(slot);
        logout_if_last(*c.st, slot, c.st->slots.token_card(slot));
    });
}

void get_session_info(CK_SESSION_HANDLE handle, CK_SESSION_INFO_PTR info) {
    state();
    require_args(info != nullptr);
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        const CK_FLAGS flags = c.on_session([](Session& s) { return s.flags; });
        const bool user = c.card->logged_in(c.role);
        const bool rw = flags & CKF_RW_SESSION;
        std::memset(info, 0, sizeof *info);
        info->slotID = c.slot;
        info->state = user ? (rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS)
                           : (rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION);
        info->flags = flags;
        info->ulDeviceError = 0;
    });
}

void login(CK_SESSION_HANDLE handle, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len) {
    state();
    // No protected authentication path: the PIN must come with the call.
    require_args(pin != nullptr);
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        if (user == CKU_SO) fail(CKR_USER_TYPE_INVALID);  // the card has no security officer
        if (user == CKU_CONTEXT_SPECIFIC) return login_context_specific(c, pin, pin_len);
        if (user != CKU_USER) fail(CKR_USER_TYPE_INVALID);
        c.on_card([&](CardState& card) {
            if (card.logged_in(c.role)) fail(CKR_USER_ALREADY_LOGGED_IN);
            // Format first: a PIN the card would refuse is never sent (and costs no try).
            Pin parsed = entered_pin("C_Login", c.role, pin, pin_len);
            // A token known to be locked is refused without touching the card.
            if (card.known_tries(c.role) == 0) fail(CKR_PIN_LOCKED);
            card.login(c.role, std::move(parsed));
        });
    });
}

void set_pin(CK_SESSION_HANDLE handle, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len, CK_UTF8CHAR_PTR new_pin,
             CK_ULONG new_len) {
    state();
    // No protected authentication path: both PINs come with the call.
    require_args((old_pin || !old_len) && (new_pin || !new_len));
    with_session(handle, Need::Token | Need::ReadWrite, [&](const SessionCall& c) {
        c.on_card([&](CardState& card) {
            // Local checks first, nothing sent: an old PIN the card cannot hold is simply
            // incorrect; a new one it would refuse is a format error.
            const Pin old_parsed = entered_pin("C_SetPIN", c.role, old_pin, old_len);
            Pin new_parsed = pin_to_set("C_SetPIN", c.role, new_pin, new_len);
            if (card.known_tries(c.role) == 0) fail(CKR_PIN_LOCKED);
            card.change_pin(c.role, old_parsed, std::move(new_parsed));
        });
    });
}

void logout(CK_SESSION_HANDLE handle) {
    with_session(handle, Need::User, [&](const SessionCall& c) {
        c.card->logout(c.role);
        // Searches and operations that saw private objects end with the login.
        std::lock_guard<Mutex> lock(*c.st->mutex);
        c.st->sessions.reset_operations(c.slot);
    });
}

}  // namespace jpki::p11
