// The module's PIN safety when other programs use the card too: a kept PIN is never sent to
// another card, nor to a card whose PIN may have changed; a lock check that fails keeps
// nothing. The card is driven from "another program" through a second connection.
#include "test/sim/sim_transport.h"
#include "test/module/module_fixture.h"

#include <catch2/catch.hpp>

using namespace jpki;
using namespace jpki::test;

namespace {

struct LoggedInCard {
    LoggedInCard() {
        reader = w.add_card(1);
        slots = initialize_and_list(w.f, 2);
        card = w.readers.card(reader);
        REQUIRE(card != nullptr);
        session = logged_in_session(w.f, slots.at(0), "1234");
        CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
        const auto keys = find(w.f, session, cls);
        REQUIRE(keys.size() == 1);
        key = keys[0];
    }
    CK_RV sign_once() {
        CK_MECHANISM m{CKM_SHA256_RSA_PKCS, nullptr, 0};
        const CK_RV init = w.f->C_SignInit(session, &m, key);
        if (init != CKR_OK) return init;
        CK_BYTE data[] = {1, 2, 3};
        CK_BYTE sig[256];
        CK_ULONG len = sizeof sig;
        return w.f->C_Sign(session, data, sizeof data, sig, &len);
    }
    CK_STATE session_state() {
        CK_SESSION_INFO info;
        REQUIRE(w.f->C_GetSessionInfo(session, &info) == CKR_OK);
        return info.state;
    }
    ModuleWorld w;
    int reader = -1;
    std::vector<CK_SLOT_ID> slots;
    std::shared_ptr<sim::JpkiCard> card;
    CK_SESSION_HANDLE session = 0;
    CK_OBJECT_HANDLE key = 0;
};

// Another program changes the authentication PIN to 5678 (VERIFY, CHANGE REFERENCE DATA), and
// then resets the card or leaves it as it is.
enum class ThenReset { Yes, No };
void another_program_changes_auth_pin(sim::JpkiCard& card, ThenReset reset) {
    sim::SimTransport other(card);
    for (const char* hex : {"00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01", "00 A4 02 0C 02 00 18",
                            "00 20 00 80 04 31 32 33 34", "00 24 01 80 04 35 36 37 38"}) {
        const Bytes apdu = from_hex(hex);
        REQUIRE(to_hex(other.transmit(apdu.data(), apdu.size())) == "90 00");
    }
    if (reset == ThenReset::Yes) other.reset_card();
}

}  // namespace

TEST_CASE("module: pin safety: a signature after C_Login works while nothing else touched the card", "[pinsafety]") {
    LoggedInCard c;
    const SentToCard sent(*c.card);
    CHECK(c.sign_once() == CKR_OK);
    CHECK(sent.pins() == 1);
    CHECK(c.session_state() == CKS_RO_USER_FUNCTIONS);
}

TEST_CASE("module: pin safety: a PIN changed by another program costs no try (reset afterwards)", "[pinsafety]") {
    LoggedInCard c;
    another_program_changes_auth_pin(*c.card, ThenReset::Yes);
    const SentToCard sent(*c.card);
    CHECK(c.sign_once() == CKR_USER_NOT_LOGGED_IN);
    CHECK(sent.pins() == 0);
    CHECK(c.card->tries_left(false) == 3);
    CHECK(c.session_state() == CKS_RO_PUBLIC_SESSION);
    // The user logs in again with the new PIN, and signs.
    CHECK(login(c.w.f, c.session, "5678") == CKR_OK);
    CHECK(c.sign_once() == CKR_OK);
}

TEST_CASE("module: pin safety: a PIN changed by another program costs no try (card left unlocked)", "[pinsafety]") {
    LoggedInCard c;
    another_program_changes_auth_pin(*c.card, ThenReset::No);
    const SentToCard sent(*c.card);
    CHECK(c.sign_once() == CKR_USER_NOT_LOGGED_IN);
    CHECK(sent.pins() == 0);
    CHECK(c.card->tries_left(false) == 3);
    CHECK(c.session_state() == CKS_RO_PUBLIC_SESSION);
}

TEST_CASE("module: pin safety: another card behind a reset gets no PIN, and the reader shows it", "[pinsafety]") {
    LoggedInCard c;
    auto other = card_config(2);
    other.auth_pin = "1234";  // equal PINs: it would even sign in the first card's name
    c.card->become(other);    // pulled, another put in and reset elsewhere: PC/SC reports a reset
    const SentToCard sent(*c.card);
    CHECK(c.sign_once() == CKR_DEVICE_REMOVED);
    CHECK(sent.pins() == 0);
    CHECK(c.card->tries_left(false) == 3);
    // The first card's sessions are gone; the reader shows the card now in it.
    CK_SESSION_INFO info;
    CHECK(c.w.f->C_GetSessionInfo(c.session, &info) != CKR_OK);
    CK_ULONG n = 0;
    REQUIRE(c.w.f->C_GetSlotList(CK_TRUE, nullptr, &n) == CKR_OK);
    std::vector<CK_SLOT_ID> now(n);
    REQUIRE(c.w.f->C_GetSlotList(CK_TRUE, now.data(), &n) == CKR_OK);
    REQUIRE(n == 2);
    const CK_TOKEN_INFO info_now = token_info(c.w.f, now[0]);
    CHECK(std::string(reinterpret_cast<const char*>(info_now.serialNumber), 16) == other.serial);
}

TEST_CASE("module: pin safety: a lock check the card cannot answer fails C_Login and keeps nothing", "[pinsafety]") {
    ModuleWorld w;
    const int r = w.add_card(1);
    const auto slots = initialize_and_list(w.f, 2);
    auto card = w.readers.card(r);
    const CK_SESSION_HANDLE s = open_session(w.f, slots.at(0));
    // C_Login: SELECT AP, counter, VERIFY, then after the reset the lock check: SELECT AP,
    // SELECT key EF, the probe signature, whose answer is garbage.
    card->inject_fault(sim::Fault::Garbage, 6);
    const SentToCard sent(*card);
    CHECK(login(w.f, s, "1234") == CKR_DEVICE_ERROR);
    REQUIRE(sent.apdus() == 5);  // the probe met the fault: not in the card's log
    CHECK(card->log().back().header == from_hex("00 A4 02 0C"));
    CHECK_FALSE(card->auth_verified());
    CK_SESSION_INFO info;
    REQUIRE(w.f->C_GetSessionInfo(s, &info) == CKR_OK);
    CHECK(info.state == CKS_RO_PUBLIC_SESSION);
    // The card is power-cycled from now on: the next login works, with no probe.
    const SentToCard again(*card);
    CHECK(login(w.f, s, "1234") == CKR_OK);
    CHECK(again.apdus() == 3);
}
