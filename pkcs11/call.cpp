#include "pkcs11/call.h"

namespace jpki::p11 {

SessionCall session_call(CK_SESSION_HANDLE handle, Need needs) {
    auto st = state();
    std::unique_lock<Mutex> lock(*st->mutex);
    const bool token = has(needs, Need::Token) || has(needs, Need::User);
    // A session's card was identified when it was opened: no card I/O here.
    if (token) st->refresh(lock, IdentifyCards::none());
    Session& s = st->sessions.get(handle);
    auto card = s.card.lock();
    if (token && (!card || st->slots.token_card(s.slot) != card)) {
        st->sessions.close(handle);
        fail(CKR_DEVICE_REMOVED);
    }
    if (has(needs, Need::ReadWrite) && !(s.flags & CKF_RW_SESSION)) fail(CKR_SESSION_READ_ONLY);
    SessionCall call{st, handle, s.slot, st->slots.slot(s.slot).role, std::move(card)};
    lock.unlock();
    if (has(needs, Need::User) && !call.card->logged_in(call.role)) fail(CKR_USER_NOT_LOGGED_IN);
    return call;
}

SlotCall slot_call(CK_SLOT_ID slot, SlotNeed needs) {
    auto st = state();
    std::unique_lock<Mutex> lock(*st->mutex);
    st->refresh(lock, IdentifyCards::of_slot(slot));
    const Slot& s = st->slots.slot(slot);
    auto card = st->slots.token_card(slot);
    if (needs == SlotNeed::Token && !card) fail(CKR_TOKEN_NOT_PRESENT);
    return SlotCall{st, slot, s.role, std::move(card)};
}

}  // namespace jpki::p11
