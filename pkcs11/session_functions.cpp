// C_OpenSession, C_CloseSession, C_CloseAllSessions, C_GetSessionInfo, C_Login, C_Logout.
// Login belongs to the token (shared by all its sessions); closing its last session logs out.
#include "pkcs11/card_access.h"
#include "pkcs11/session_context.h"
#include "pkcs11/functions.h"

#include <cstring>

namespace jpki::p11 {

namespace {

void logout_if_last(ModuleState& st, CK_SLOT_ID slot, const std::shared_ptr<CardState>& card) {
    if (!card || st.sessions.count(slot) != 0) return;
    card->logout(st.slots.slot(slot).role);  // login state only: never waits for card I/O
}

}  // namespace

void require_session(CK_SESSION_HANDLE handle) { session_context(handle); }

void require_slot(CK_SLOT_ID slot) {
    auto st = state();
    std::lock_guard<Mutex> lock(*st->mutex);
    st->slots.slot(slot);
}

void require_token(CK_SLOT_ID slot) {
    auto st = state();
    std::unique_lock<Mutex> lock(*st->mutex);
    st->refresh(lock);
    if (!st->slots.token_card(slot)) fail(CKR_TOKEN_NOT_PRESENT);
}

void open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_SESSION_HANDLE_PTR session) {
    auto st = state();
    if (!session) fail(CKR_ARGUMENTS_BAD);
    std::unique_lock<Mutex> lock(*st->mutex);
    st->refresh(lock);
    st->slots.slot(slot);
    if (!(flags & CKF_SERIAL_SESSION)) fail(CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    auto card = st->slots.token_card(slot);
    if (!card) fail(CKR_TOKEN_NOT_PRESENT);
    // Read-write sessions are accepted: OpenSSH and pkcs11-tool --test always ask for one, and
    // PKCS#11 allows only read-only sessions on a token flagged CKF_WRITE_PROTECTED, so the
    // tokens do not carry that flag. Nothing can be written all the same: every function that
    // would create, change or destroy an object answers CKR_TOKEN_WRITE_PROTECTED.
    *session = st->sessions.open(slot, flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION), card);
}

void close_session(CK_SESSION_HANDLE handle) {
    auto st = state();
    std::lock_guard<Mutex> lock(*st->mutex);
    Session& s = st->sessions.get(handle);
    const CK_SLOT_ID slot = s.slot;
    auto card = s.card.lock();
    st->sessions.close(handle);
    logout_if_last(*st, slot, card);
}

void close_all_sessions(CK_SLOT_ID slot) {
    auto st = state();
    std::lock_guard<Mutex> lock(*st->mutex);
    st->slots.slot(slot);
    st->sessions.close_slot(slot);
    logout_if_last(*st, slot, st->slots.token_card(slot));
}

void get_session_info(CK_SESSION_HANDLE handle, CK_SESSION_INFO_PTR info) {
    auto st = state();
    if (!info) fail(CKR_ARGUMENTS_BAD);
    SessionContext v = session_context(handle);
    CK_FLAGS flags;
    {
        std::lock_guard<Mutex> lock(*st->mutex);
        flags = st->sessions.get(handle).flags;
    }
    const bool user = v.card->logged_in(v.role);
    std::memset(info, 0, sizeof *info);
    info->slotID = v.slot;
    const bool rw = flags & CKF_RW_SESSION;
    info->state = user ? (rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS)
                       : (rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION);
    info->flags = flags;
    info->ulDeviceError = 0;
}

void login(CK_SESSION_HANDLE handle, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len) {
    auto st = state();
    SessionContext v = session_context(handle);
    if (user == CKU_SO) fail(CKR_USER_TYPE_INVALID);  // the card has no security officer
    if (user == CKU_CONTEXT_SPECIFIC) return login_context_specific(handle, pin, pin_len);
    if (user != CKU_USER) fail(CKR_USER_TYPE_INVALID);
    // No protected authentication path: the PIN must come with the call.
    if (!pin) fail(CKR_ARGUMENTS_BAD);
    with_card(*st, v.slot, v.card, [&](CardState& c) {
        if (c.logged_in(v.role)) fail(CKR_USER_ALREADY_LOGGED_IN);
        // Format first: a PIN the card would refuse is never sent (and costs no try).
        Pin parsed = Pin::parse(pin_of(v.role), pin, pin_len);
        // A token known to be locked is refused without touching the card.
        if (c.known_tries(v.role) == 0) fail(CKR_PIN_LOCKED);
        c.login(v.role, std::move(parsed));
    });
}

void logout(CK_SESSION_HANDLE handle) {
    auto st = state();
    SessionContext v = session_context(handle);
    if (!v.card->logged_in(v.role)) fail(CKR_USER_NOT_LOGGED_IN);
    v.card->logout(v.role);
    // Searches and operations that saw private objects end with the login.
    std::lock_guard<Mutex> lock(*st->mutex);
    st->sessions.reset_operations(v.slot);
}

}  // namespace jpki::p11
