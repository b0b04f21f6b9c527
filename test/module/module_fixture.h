// Tests drive the module through its C function list, obtained with dlopen() of the test
// build (jpki-pkcs11-sim.so) and C_GetFunctionList, as a real application would. The simulated
// readers and cards are reached through the module's own jpki_test_sim_readers().
#pragma once

#include "pkcs11/pkcs11.h"
#include "test/sim/sim_reader_provider.h"
#include "test/common/test_support.h"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace jpki::test {

// The loaded test module (loaded once per test process, never unloaded while tests run).
CK_FUNCTION_LIST_PTR module();
sim::SimReaders& sim_readers();
// The dlopen() handle of the test module (for dlsym of its exported functions).
void* module_handle();
// Path of the test module, for tests that dlopen it themselves (load/unload cycles).
std::string module_path();

// A fresh world for one test: no readers, the module finalized. On destruction the module
// is finalized again and the readers cleared.
struct ModuleWorld {
    ModuleWorld();
    ~ModuleWorld();
    ModuleWorld(const ModuleWorld&) = delete;
    ModuleWorld& operator=(const ModuleWorld&) = delete;

    // Adds a reader with card `n` (1 or 2) of the test PKI; returns the reader index.
    int add_card(int n = 1, sim::CardConfig config = card_config(1));
    int add_empty_reader();
    CK_FUNCTION_LIST_PTR f;
    sim::SimReaders& readers;
    int reader_counter = 0;
};

// C_Initialize(NULL) + all slots with a token.
std::vector<CK_SLOT_ID> initialize_and_list(CK_FUNCTION_LIST_PTR f);
// The same, the number of slots with a token REQUIREd to be `expected` (two per card).
std::vector<CK_SLOT_ID> initialize_and_list(CK_FUNCTION_LIST_PTR f, std::size_t expected);
CK_SESSION_HANDLE open_session(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot);
CK_RV login(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const std::string& pin, CK_USER_TYPE user = CKU_USER);
// A new read-only session on `slot`, logged in as the user with `pin` (REQUIREd to succeed).
CK_SESSION_HANDLE logged_in_session(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, const std::string& pin);
CK_TOKEN_INFO token_info(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot);
// Reads C_WaitForSlotEvent(CKF_DONT_BLOCK) until CKR_NO_EVENT; returns the slots reported.
std::vector<CK_SLOT_ID> drain_events(CK_FUNCTION_LIST_PTR f);
// Handles of the objects matching one attribute (or all, with type = ~0).
std::vector<CK_OBJECT_HANDLE> find(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls);
Bytes attribute(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type);

// One card in one reader (card 1 of the test PKI, or `config`), the module initialised and the
// slots with a token listed: the authentication token's, then the signature token's (REQUIREd:
// two, or one for a card without a signature certificate).
struct OneCard : ModuleWorld {
    explicit OneCard(sim::CardConfig config = card_config(1));
    // A new read-only session on the authentication or the signature token.
    CK_SESSION_HANDLE auth_session();
    CK_SESSION_HANDLE sign_session();
    // The same, logged in with the card's PIN (REQUIREd to succeed).
    CK_SESSION_HANDLE logged_in_auth_session();
    CK_SESSION_HANDLE logged_in_sign_session();

    int reader = -1;
    std::vector<CK_SLOT_ID> slots;
    std::shared_ptr<sim::JpkiCard> card;
};

// Cards 1 and 2 in two readers, the module initialised and the four slots with a token listed:
// card 1's two tokens, then card 2's.
struct TwoCards : ModuleWorld {
    TwoCards();
    std::vector<CK_SLOT_ID> slots;
};

// The commands in a card's log with instruction byte `ins` that `match` (given the whole line).
template <class Match>
std::size_t count_commands(const sim::JpkiCard& card, std::uint8_t ins, Match match) {
    std::size_t n = 0;
    for (const auto& l : card.log())
        if (l.header.size() == 4 && l.header[1] == ins && match(l)) ++n;
    return n;
}

// What a card is sent from the moment this is made, read from its APDU log: every command, and
// the PIN presentations among them (VERIFY with data).
class SentToCard {
public:
    explicit SentToCard(const sim::JpkiCard& card)
        : card_(&card), apdus_(card.log().size()), pins_(card.verify_with_data_count()) {}
    std::size_t apdus() const { return card_->log().size() - apdus_; }
    std::size_t pins() const { return card_->verify_with_data_count() - pins_; }

private:
    const sim::JpkiCard* card_;
    std::size_t apdus_;
    std::size_t pins_;
};

}  // namespace jpki::test
