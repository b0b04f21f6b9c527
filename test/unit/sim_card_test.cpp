// The simulated card answers like the real JPKI AP (../shared/jpki-card.md), APDU by APDU.
#include "test/sim/jpki_card.h"
#include "test/unit/test_support.h"

#include <catch2/catch.hpp>

using namespace jpki;
using jpki::sim::JpkiCard;

namespace {
std::uint16_t sw_of(const Bytes& r) { return static_cast<std::uint16_t>(r[r.size() - 2] << 8 | r.back()); }
Bytes send(JpkiCard& card, const std::string& hex) { return card.process(from_hex(hex)); }
const char* kSelectJpki = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01";
}  // namespace

TEST_CASE("sim: the contact ATR", "[sim]") {
    CHECK(to_hex(JpkiCard::atr()) == "3B E0 00 FF 81 31 FE 45 14");
}

TEST_CASE("sim: SELECT the JPKI AP by name and an EF by id", "[sim]") {
    JpkiCard card(test::card_config());
    card.power_on();
    CHECK(sw_of(send(card, kSelectJpki)) == 0x9000);
    CHECK(sw_of(send(card, "00 A4 02 0C 02 00 0A")) == 0x9000);
    CHECK(sw_of(send(card, "00 A4 02 0C 02 00 99")) == 0x6A82);
}
