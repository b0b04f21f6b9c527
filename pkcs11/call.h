// What a PKCS#11 function needs before it runs, said in one line at its top:
//   with_session(h, Need::Token | Need::User, [&](const SessionCall& c) { ... });
//   with_slot(slot, SlotNeed::Token, [&](const SlotCall& c) { ... });
// and the one place that knows how to reach the card (under its own lock, never the module
// lock) and how an operation in progress is taken out of a session and put back
// (PKCS#11 2.40 5.10-5.13: an error ends it).
#pragma once

#include "card/card_error.h"
#include "pkcs11/module.h"
#include "pkcs11/pkcs11_error.h"

#include <memory>
#include <mutex>

namespace jpki::p11 {

// ---- arguments ------------------------------------------------------------------------------
// Arguments are checked before anything about the module's state.
inline void require_args(bool valid) {
    if (!valid) fail(CKR_ARGUMENTS_BAD);
}

// ---- the card -------------------------------------------------------------------------------
// Runs f(card) under the card's lock. A CardError becomes its CK_RV; a card found gone is
// dropped from the slot table (its sessions closed).
template <typename F>
auto with_card(ModuleState& st, CK_SLOT_ID slot, const std::shared_ptr<CardState>& card, F&& f) {
    try {
        std::lock_guard<Mutex> lock(card->mutex());
        return f(*card);
    } catch (const CardError& e) {
        if (is_card_gone(e.code())) {
            std::lock_guard<Mutex> lock(*st.mutex);
            if (st.slots.token_card(slot) == card) st.card_gone(slot);
        }
        throw Pkcs11Error(rv_for(e), e.what());
    }
}

// ---- sessions -------------------------------------------------------------------------------
enum class Need : unsigned {
    Session = 0,         // a valid session handle (always checked)
    Token = 1u << 0,     // the readers looked at again, and the session's card still there: a
                         // card that left closes the session (CKR_DEVICE_REMOVED)
    User = 1u << 1,      // the token logged in (CKR_USER_NOT_LOGGED_IN); implies Token
    ReadWrite = 1u << 2, // a read-write session (CKR_SESSION_READ_ONLY)
};
constexpr Need operator|(Need a, Need b) { return Need(unsigned(a) | unsigned(b)); }
constexpr bool has(Need set, Need n) { return (unsigned(set) & unsigned(n)) == unsigned(n); }

// What a function called with a session works on.
struct SessionCall {
    std::shared_ptr<ModuleState> st;
    CK_SESSION_HANDLE handle;
    CK_SLOT_ID slot;
    TokenRole role;
    std::shared_ptr<CardState> card;  // null when the card left (only without Need::Token)

    // f(CardState&) under the card's lock (see with_card).
    template <typename F>
    auto on_card(F&& f) const {
        if (!card) fail(CKR_DEVICE_REMOVED);
        return with_card(*st, slot, card, std::forward<F>(f));
    }
    // f(Session&) under the module lock; the session is looked up again (another thread may
    // have closed it since).
    template <typename F>
    auto on_session(F&& f) const {
        std::lock_guard<Mutex> lock(*st->mutex);
        return f(st->sessions.get(handle));
    }
};

SessionCall session_call(CK_SESSION_HANDLE handle, Need needs);

template <typename F>
auto with_session(CK_SESSION_HANDLE handle, Need needs, F&& f) {
    const SessionCall call = session_call(handle, needs);
    return f(call);
}

// ---- slots ----------------------------------------------------------------------------------
// Either way the readers are looked at again and a new card in this slot (only) is identified.
enum class SlotNeed {
    Slot,   // a valid slot ID (CKR_SLOT_ID_INVALID)
    Token,  // and a token in it (CKR_TOKEN_NOT_PRESENT)
};

struct SlotCall {
    std::shared_ptr<ModuleState> st;
    CK_SLOT_ID slot;
    TokenRole role;
    std::shared_ptr<CardState> card;  // null without a token
};

SlotCall slot_call(CK_SLOT_ID slot, SlotNeed needs);

template <typename F>
auto with_slot(CK_SLOT_ID slot, SlotNeed needs, F&& f) {
    const SlotCall call = slot_call(slot, needs);
    return f(call);
}

// ---- operations in progress -----------------------------------------------------------------
// What a call did to the operation it worked on.
enum class Operation {
    Ends,       // a single-part or final call, done
    Continues,  // an update, or a length query (PKCS#11 2.40 5.2)
};

// PKCS#11 2.40 5.10-5.13: a call on an operation in progress ends it whatever happens, except
// when the call continues it (an update that succeeded, a length query) or answers
// CKR_BUFFER_TOO_SMALL. So the operation is taken out of the session first, f(op) works on
// it, and it goes back only then. No operation: CKR_OPERATION_NOT_INITIALIZED.
template <typename Op, typename F>
void with_operation(const SessionCall& c, std::shared_ptr<Op> Session::*member, F&& f) {
    std::shared_ptr<Op> op = c.on_session([&](Session& s) {
        if (!(s.*member)) fail(CKR_OPERATION_NOT_INITIALIZED);
        return std::move(s.*member);
    });
    auto put_back = [&] {
        c.on_session([&](Session& s) {
            if (!(s.*member)) s.*member = std::move(op);  // unless another began meanwhile
        });
    };
    Operation next = Operation::Ends;
    try {
        next = f(*op);
    } catch (const Pkcs11Error& e) {
        if (e.rv() == CKR_BUFFER_TOO_SMALL) put_back();
        throw;
    }
    if (next == Operation::Continues) put_back();
}

// Starts an operation: CKR_OPERATION_ACTIVE while one of its kind is in progress.
template <typename Op>
void begin_operation(const SessionCall& c, std::shared_ptr<Op> Session::*member, std::shared_ptr<Op> op) {
    c.on_session([&](Session& s) {
        if (s.*member) fail(CKR_OPERATION_ACTIVE);
        s.*member = std::move(op);
    });
}

}  // namespace jpki::p11

namespace jpki::p11 {

// Bad arguments to a call on an operation in progress: CKR_ARGUMENTS_BAD, checked before the
// session, and, as every error of such a call does, the end of the operation.
template <typename Op>
void require_operation_args(bool valid, CK_SESSION_HANDLE handle, std::shared_ptr<Op> Session::*member) {
    if (valid) return;
    const auto st = state();
    {
        std::lock_guard<Mutex> lock(*st->mutex);
        try {
            (st->sessions.get(handle).*member).reset();
        } catch (const Pkcs11Error&) {  // no such session: nothing to end
        }
    }
    fail(CKR_ARGUMENTS_BAD);
}

}  // namespace jpki::p11
