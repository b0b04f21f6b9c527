// Running card I/O for a slot: under the card's own lock (never the module lock, so other
// slots and calls go on), with card errors turned into CK_RVs and a card found gone dropped
// from the slot table.
#pragma once

#include "card/card_error.h"
#include "pkcs11/module.h"
#include "pkcs11/pkcs11_error.h"

#include <mutex>

namespace jpki::p11 {

// The card state must be dropped (and the card identified again when it shows up): it left, or
// pcscd went away and took every handle with it.
inline bool means_card_gone(CardErrc c) {
    return c == CardErrc::CardRemoved || c == CardErrc::NoCard || c == CardErrc::NoReader ||
           c == CardErrc::NoService;
}

template <typename F>
auto with_card(ModuleState& st, CK_SLOT_ID slot, const std::shared_ptr<CardState>& card, F&& f) {
    try {
        std::lock_guard<Mutex> lock(card->mutex());
        return f(*card);
    } catch (const CardError& e) {
        if (means_card_gone(e.code())) {
            std::lock_guard<Mutex> lock(*st.mutex);
            if (st.slots.token_card(slot) == card) st.card_gone(slot);
        }
        throw Pkcs11Error(rv_for(e), e.what());
    }
}

}  // namespace jpki::p11
