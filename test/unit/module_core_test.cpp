// The module core through the C function list: initialisation, slots, tokens, sessions, login.
#include "test/unit/module_fixture.h"

#include <catch2/catch.hpp>

using namespace jpki;
using namespace jpki::test;

TEST_CASE("module: two tokens per card, with the card's serial", "[module]") {
    ModuleWorld w;
    w.add_card(1);
    auto slots = initialize_and_list(w.f);
    REQUIRE(slots.size() == 2);
    CK_TOKEN_INFO auth = token_info(w.f, slots[0]);
    CK_TOKEN_INFO sign = token_info(w.f, slots[1]);
    CHECK(std::string(reinterpret_cast<char*>(auth.label), 32).rfind("JPKI Authentication", 0) == 0);
    CHECK(std::string(reinterpret_cast<char*>(sign.label), 32).rfind("JPKI Signature", 0) == 0);
    CHECK(std::string(reinterpret_cast<char*>(auth.serialNumber), 16) == card_config(1).serial);
}
