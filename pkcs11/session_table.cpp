#include "pkcs11/session_table.h"

#include "pkcs11/pkcs11_error.h"

#include <atomic>

namespace jpki::p11 {

namespace {
// Process-wide and never destroyed: a handle from before a C_Finalize + C_Initialize (NSS does
// that to cancel a slot-event wait) never names a new session.
std::atomic<CK_SESSION_HANDLE>& g_next_handle = *new std::atomic<CK_SESSION_HANDLE>(1);
}  // namespace

CK_SESSION_HANDLE SessionTable::open(CK_SLOT_ID slot, CK_FLAGS flags, std::weak_ptr<CardState> card) {
    const CK_SESSION_HANDLE h = g_next_handle.fetch_add(1);
    sessions_.emplace(h, Session{h, slot, flags, std::move(card), {}, {}, {}, {}});
    return h;
}

void SessionTable::reset_operations(CK_SLOT_ID slot) {
    for (auto& [h, s] : sessions_) {
        if (s.slot != slot) continue;
        s.find.reset();
        s.sign.reset();
        s.verify.reset();
    }
}

Session& SessionTable::get(CK_SESSION_HANDLE handle) {
    auto it = sessions_.find(handle);
    if (it == sessions_.end()) fail(CKR_SESSION_HANDLE_INVALID);
    return it->second;
}

bool SessionTable::close(CK_SESSION_HANDLE handle) { return sessions_.erase(handle) > 0; }

void SessionTable::close_slot(CK_SLOT_ID slot) {
    for (auto it = sessions_.begin(); it != sessions_.end();)
        it = it->second.slot == slot ? sessions_.erase(it) : std::next(it);
}

std::size_t SessionTable::count(CK_SLOT_ID slot) const {
    std::size_t n = 0;
    for (const auto& [h, s] : sessions_) n += s.slot == slot;
    return n;
}

}  // namespace jpki::p11
