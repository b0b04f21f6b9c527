// Readers and their slots: one per token of the module file (module_variant.h), two per reader
// for jpki-pkcs11.so (authentication token, signature token), with IDs
// given once and never renumbered or reused; the list never shrinks (NSS relies on that).
// refresh() compares the readers with what it saw last: a new reader gets slots, a card that
// left (or was swapped) drops its CardState, and every change is queued as a slot event.
#pragma once

#include "card/reader_provider.h"
#include "pkcs11/card_state.h"
#include "pkcs11/mutex.h"
#include "pkcs11/pkcs11.h"

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace jpki::p11 {

// What is known of the card in a reader.
enum class CardPhase {
    None,         // no card
    New,          // a card not identified yet (after a transient failure: not before retry_after)
    Identifying,  // a thread is identifying it, without the module lock
    Ready,        // identified: Reader::card is set
    Unusable,     // not a JPKI card, or it answered nonsense
};

struct Reader {
    std::string name;
    bool attached = false;  // the reader is known to the provider now
    CardPhase phase = CardPhase::None;
    unsigned long card_events = 0;
    std::chrono::steady_clock::time_point retry_after{};
    // While Identifying, a call was told the slot had no token: it gets a slot event later.
    bool token_missed = false;
    std::shared_ptr<CardState> card;
};

struct Slot {
    CK_SLOT_ID id;
    std::size_t reader;  // index into readers
    TokenRole role;
};

class SlotTable {
public:
    // Brings the table up to date with the provider. Returns the slots whose card went away
    // (their sessions must be closed). New cards are left for identify() to connect to.
    std::vector<CK_SLOT_ID> refresh(ReaderProvider& provider);

    // A reader with a card that has not been identified yet.
    struct Unidentified {
        std::size_t reader;
        std::string name;
        unsigned long card_events;
    };
    // The cards to identify now (of one reader only, when given); each is marked as being
    // identified, so that no other call identifies it too (until then its slots show no token).
    std::vector<Unidentified> take_unidentified(std::optional<std::size_t> only_reader);
    // Installs the result of identifying a card (null: not a usable JPKI card), unless the
    // reader changed meanwhile; if a call meanwhile was told there was no token, queues the
    // slots' event again: the token is there now.
    void attach(const Unidentified& u, std::shared_ptr<CardState> card);
    // Identification failed for a passing reason (card busy, a transport error): try again
    // in a while instead of writing the card off.
    void retry_later(const Unidentified& u);

    const std::vector<Slot>& slots() const { return slots_; }
    // Throws CKR_SLOT_ID_INVALID.
    const Slot& slot(CK_SLOT_ID id) const;
    Reader& reader_of(const Slot& s) { return readers_[s.reader]; }
    // The card behind a slot when that slot has a token, else null.
    std::shared_ptr<CardState> token_card(CK_SLOT_ID id);
    bool token_present(CK_SLOT_ID id) { return token_card(id) != nullptr; }
    // Drops the card of a reader (a removal noticed during an operation); returns its slots.
    std::vector<CK_SLOT_ID> drop_card(std::size_t reader);

    // Slot events not yet reported by C_WaitForSlotEvent.
    bool pop_event(CK_SLOT_ID& id);
    // Drops the events queued so far (what C_Initialize found is no event).
    void forget_events() { events_.clear(); }

private:
    void queue_events(std::size_t reader);

    std::vector<Reader> readers_;
    std::vector<Slot> slots_;
    unsigned long service_epoch_ = 0;
    std::deque<CK_SLOT_ID> events_;
};

}  // namespace jpki::p11
