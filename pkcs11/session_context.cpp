#include "pkcs11/session_context.h"

#include "pkcs11/pkcs11_error.h"

namespace jpki::p11 {

SessionContext session_context(CK_SESSION_HANDLE handle) {
    auto st = state();
    std::unique_lock<Mutex> lock(*st->mutex);
    st->refresh(lock);
    Session& s = st->sessions.get(handle);
    auto card = s.card.lock();
    if (!card || st->slots.token_card(s.slot) != card) {
        st->sessions.close(handle);
        fail(CKR_DEVICE_REMOVED);
    }
    return {st, s.slot, st->slots.slot(s.slot).role, card};
}

}  // namespace jpki::p11
