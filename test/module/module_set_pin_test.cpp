// C_SetPIN on both tokens: local checks before any APDU, one VERIFY and one CHANGE REFERENCE
// DATA in one transaction, never retried; what a login keeps afterwards.
#include "test/module/module_fixture.h"

#include <catch2/catch.hpp>

#include <string>

using namespace jpki;
using namespace jpki::test;

namespace {

struct Card {
    Card() {
        reader = w.add_card(1);
        slots = initialize_and_list(w.f, 2);
        card = w.readers.card(reader);
    }
    CK_SESSION_HANDLE session(int token, CK_FLAGS flags = CKF_SERIAL_SESSION | CKF_RW_SESSION) {
        CK_SESSION_HANDLE s = 0;
        REQUIRE(w.f->C_OpenSession(slots.at(static_cast<std::size_t>(token)), flags, nullptr, nullptr, &s) == CKR_OK);
        return s;
    }
    CK_RV set_pin(CK_SESSION_HANDLE s, const std::string& old_pin, const std::string& new_pin) {
        return w.f->C_SetPIN(s, reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(old_pin.data())), old_pin.size(),
                             reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(new_pin.data())), new_pin.size());
    }
    std::size_t changes_sent() const {
        std::size_t n = 0;
        for (const auto& a : card->log()) n += a.header[1] == 0x24;
        return n;
    }
    ModuleWorld w;
    int reader = -1;
    std::vector<CK_SLOT_ID> slots;
    std::shared_ptr<sim::JpkiCard> card;
};

}  // namespace

TEST_CASE("module: set pin: the authentication PIN changes, the new one logs in and the old one fails", "[setpin]") {
    Card c;
    const CK_SESSION_HANDLE s = c.session(0);
    const SentToCard sent(*c.card);
    CHECK(c.set_pin(s, "1234", "5678") == CKR_OK);
    CHECK(sent.pins() == 1);  // one VERIFY, no retry
    CHECK(c.changes_sent() == 1);
    CHECK_FALSE(c.card->auth_verified());  // locked again
    CHECK(login(c.w.f, s, "1234") == CKR_PIN_INCORRECT);
    CHECK(c.card->tries_left(false) == 2);  // the one try that wrong login spent
    CHECK(login(c.w.f, s, "5678") == CKR_OK);
}

TEST_CASE("module: set pin: the signature password changes, lower case folded", "[setpin]") {
    Card c;
    const CK_SESSION_HANDLE s = c.session(1);
    CHECK(c.set_pin(s, "sign1234", "newpass99") == CKR_OK);
    CHECK(c.card->config().sign_pin == "NEWPASS99");
    CHECK(login(c.w.f, s, "NEWPASS99") == CKR_OK);
}

TEST_CASE("module: set pin: malformed PINs and read-only sessions reach the card never", "[setpin]") {
    Card c;
    const CK_SESSION_HANDLE rw = c.session(0);
    const CK_SESSION_HANDLE ro = c.session(0, CKF_SERIAL_SESSION);
    const SentToCard sent(*c.card);
    CHECK(c.set_pin(rw, "12345", "5678") == CKR_PIN_INCORRECT);  // an old PIN the card cannot hold
    CHECK(c.set_pin(rw, "12a4", "5678") == CKR_PIN_INCORRECT);
    CHECK(c.set_pin(rw, "1234", "567") == CKR_PIN_LEN_RANGE);
    CHECK(c.set_pin(rw, "1234", "56a8") == CKR_PIN_INVALID);
    CHECK(c.set_pin(ro, "1234", "5678") == CKR_SESSION_READ_ONLY);
    CHECK(c.w.f->C_SetPIN(rw, nullptr, 4, nullptr, 4) == CKR_ARGUMENTS_BAD);
    const CK_SESSION_HANDLE sign = c.session(1);
    CHECK(c.set_pin(sign, "SIGN1234", "SHORT") == CKR_PIN_LEN_RANGE);
    CHECK(c.set_pin(sign, "SIGN1234", "WITH-DASH") == CKR_PIN_INVALID);
    CHECK(c.set_pin(sign, "SIGN1234", std::string(17, 'A')) == CKR_PIN_LEN_RANGE);
    CHECK(sent.apdus() == 0);
    CHECK(c.card->tries_left(false) == 3);
    CHECK(c.card->tries_left(true) == 5);
}

TEST_CASE("module: set pin: a wrong old PIN costs its one try and nothing else is sent", "[setpin]") {
    Card c;
    const CK_SESSION_HANDLE s = c.session(0);
    const SentToCard sent(*c.card);
    CHECK(c.set_pin(s, "0000", "5678") == CKR_PIN_INCORRECT);
    CHECK(sent.pins() == 1);
    CHECK(c.changes_sent() == 0);
    CHECK(c.card->tries_left(false) == 2);
    CK_TOKEN_INFO info = token_info(c.w.f, c.slots[0]);
    CHECK((info.flags & CKF_USER_PIN_COUNT_LOW) != 0);  // the token shows it at once
}

TEST_CASE("module: set pin: a blocked PIN is refused without touching the card", "[setpin]") {
    Card c;
    c.card->set_tries_left(false, 0);
    const CK_SESSION_HANDLE s = c.session(0);
    CHECK(c.set_pin(s, "1234", "5678") == CKR_PIN_LOCKED);  // learns the counter: nothing else
    const SentToCard sent(*c.card);
    CHECK(c.set_pin(s, "1234", "5678") == CKR_PIN_LOCKED);
    CHECK(sent.apdus() == 0);
    CHECK(c.card->verify_with_data_count() == 0);
}

TEST_CASE("module: set pin: a login keeps the new PIN and signs with it", "[setpin]") {
    Card c;
    const CK_SESSION_HANDLE s = c.session(0);
    REQUIRE(login(c.w.f, s, "1234") == CKR_OK);
    CHECK(c.set_pin(s, "1234", "5678") == CKR_OK);
    CK_SESSION_INFO info;
    REQUIRE(c.w.f->C_GetSessionInfo(s, &info) == CKR_OK);
    CHECK(info.state == CKS_RW_USER_FUNCTIONS);
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    const auto keys = find(c.w.f, s, cls);
    REQUIRE(keys.size() == 1);
    CK_MECHANISM m{CKM_SHA256_RSA_PKCS, nullptr, 0};
    REQUIRE(c.w.f->C_SignInit(s, &m, keys[0]) == CKR_OK);
    CK_BYTE data[] = {1, 2, 3}, sig[256];
    CK_ULONG len = sizeof sig;
    const SentToCard sent(*c.card);
    CHECK(c.w.f->C_Sign(s, data, sizeof data, sig, &len) == CKR_OK);
    CHECK(sent.pins() == 1);
    CHECK(c.card->tries_left(false) == 3);  // the kept PIN is the new one
}

TEST_CASE("module: set pin: a card error between VERIFY and CHANGE ends the login, nothing retried", "[setpin]") {
    Card c;
    const CK_SESSION_HANDLE s = c.session(0);
    REQUIRE(login(c.w.f, s, "1234") == CKR_OK);
    // C_SetPIN: SELECT AP, counter, VERIFY, SELECT PIN EF, CHANGE: the change meets a dead card.
    c.card->inject_fault(sim::Fault::Mute, 5);
    const SentToCard sent(*c.card);
    CHECK(c.set_pin(s, "1234", "5678") != CKR_OK);
    CHECK(sent.pins() == 1);
    CHECK(c.changes_sent() == 0);  // the mute answer is not in the log, and nothing came after
    CK_SESSION_INFO info;
    REQUIRE(c.w.f->C_GetSessionInfo(s, &info) == CKR_OK);
    CHECK(info.state == CKS_RW_PUBLIC_SESSION);  // logged out: the kept PIN is gone
    CHECK(c.card->config().auth_pin == "1234");
}
