#include "pkcs11/slot_table.h"

#include "card/card_error.h"
#include "common/trace.h"
#include "pkcs11/module_variant.h"
#include "pkcs11/pkcs11_error.h"

#include <algorithm>

namespace jpki::p11 {

const Slot& SlotTable::slot(CK_SLOT_ID id) const {
    // IDs are given in the order readers were first seen: one per token the module file shows
    // (module_variant()), so 2*reader + role for jpki-pkcs11.so, the reader's index otherwise.
    if (id >= slots_.size()) fail(CKR_SLOT_ID_INVALID);
    return slots_[id];
}

void SlotTable::queue_events(std::size_t reader) {
    for (const Slot& s : slots_)
        if (s.reader == reader && std::find(events_.begin(), events_.end(), s.id) == events_.end())
            events_.push_back(s.id);
}

bool SlotTable::pop_event(CK_SLOT_ID& id) {
    if (events_.empty()) return false;
    id = events_.front();
    events_.pop_front();
    return true;
}

std::vector<CK_SLOT_ID> SlotTable::drop_card(std::size_t reader) {
    Reader& r = readers_[reader];
    std::vector<CK_SLOT_ID> gone;
    if (r.card) {
        r.card->wipe();  // logins only: an operation in flight keeps its own copy until it ends
        r.card.reset();
        for (const Slot& s : slots_)
            if (s.reader == reader) gone.push_back(s.id);
    }
    r.phase = CardPhase::None;
    queue_events(reader);
    return gone;
}

std::vector<CK_SLOT_ID> SlotTable::refresh(ReaderProvider& provider) {
    std::vector<CK_SLOT_ID> gone;
    std::vector<ReaderSnapshot> now;
    try {
        now = provider.readers();
    } catch (const CardError& e) {
        // A failed listing says nothing about the cards: keep what we knew. (pcscd gone for
        // good shows in the card operations themselves, which then drop the card.)
        trace_line(std::string("listing readers failed: ") + e.what());
        return gone;
    }
    if (provider.service_epoch() != service_epoch_) {
        // The reader service restarted: every card connection is void; identify them again.
        service_epoch_ = provider.service_epoch();
        for (std::size_t i = 0; i < readers_.size(); ++i) {
            auto dropped = drop_card(i);
            gone.insert(gone.end(), dropped.begin(), dropped.end());
            readers_[i].card_events = ~0UL;  // seen as changed below
        }
    }
    for (Reader& r : readers_) r.attached = false;
    for (const ReaderSnapshot& snap : now) {
        auto it = std::find_if(readers_.begin(), readers_.end(), [&](const Reader& r) { return r.name == snap.name; });
        std::size_t index;
        if (it == readers_.end()) {
            index = readers_.size();
            Reader fresh;
            fresh.name = snap.name;
            readers_.push_back(std::move(fresh));
            const ModuleVariant& variant = module_variant();
            for (std::size_t k = 0; k < variant.role_count; ++k)
                slots_.push_back(Slot{static_cast<CK_SLOT_ID>(slots_.size()), index, variant.roles[k]});
            queue_events(index);
        } else {
            index = static_cast<std::size_t>(it - readers_.begin());
        }
        Reader& r = readers_[index];
        r.attached = true;
        const bool present = r.phase != CardPhase::None;
        if (present != snap.card_present || r.card_events != snap.card_events) {
            auto dropped = drop_card(index);
            gone.insert(gone.end(), dropped.begin(), dropped.end());
            r.phase = snap.card_present ? CardPhase::New : CardPhase::None;
            r.card_events = snap.card_events;
            r.retry_after = {};  // a new card is identified at once
        }
    }
    // A reader that went away keeps its slots, without a token.
    for (std::size_t i = 0; i < readers_.size(); ++i) {
        if (!readers_[i].attached && readers_[i].phase != CardPhase::None) {
            auto dropped = drop_card(i);
            gone.insert(gone.end(), dropped.begin(), dropped.end());
        }
    }
    return gone;
}

std::vector<SlotTable::Unidentified> SlotTable::take_unidentified(std::optional<std::size_t> only_reader) {
    std::vector<Unidentified> out;
    const auto now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < readers_.size(); ++i) {
        Reader& r = readers_[i];
        if (only_reader && *only_reader != i) continue;
        if (r.attached && r.phase == CardPhase::New && now >= r.retry_after) {
            r.phase = CardPhase::Identifying;
            out.push_back({i, r.name, r.card_events});
        }
    }
    return out;
}

void SlotTable::attach(const Unidentified& u, std::shared_ptr<CardState> card) {
    Reader& r = readers_[u.reader];
    if (r.phase != CardPhase::Identifying || r.card_events != u.card_events) return;  // changed meanwhile
    r.card = std::move(card);
    r.phase = r.card ? CardPhase::Ready : CardPhase::Unusable;
    if (r.token_missed) queue_events(u.reader);
    r.token_missed = false;
}

void SlotTable::retry_later(const Unidentified& u) {
    Reader& r = readers_[u.reader];
    if (r.phase != CardPhase::Identifying || r.card_events != u.card_events) return;
    r.phase = CardPhase::New;
    r.retry_after = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    r.token_missed = true;  // the caller says "no token": when the retry finds it, an event
}

std::shared_ptr<CardState> SlotTable::token_card(CK_SLOT_ID id) {
    const Slot& s = slot(id);
    Reader& r = readers_[s.reader];
    if (r.phase == CardPhase::Identifying) r.token_missed = true;
    if (r.phase != CardPhase::Ready) return nullptr;
    if (s.role == TokenRole::Sign && !r.card->has_sign_token()) return nullptr;
    return r.card;
}

}  // namespace jpki::p11
