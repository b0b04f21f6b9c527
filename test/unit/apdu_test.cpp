// APDU encoding (ISO 7816-4 5.1), response parsing, DER lengths and status-word mapping.
#include "card/apdu.h"
#include "card/card_error.h"
#include "card/der_length.h"

#include <catch2/catch.hpp>

using namespace jpki;

TEST_CASE("command APDUs encode the four ISO cases in short form", "[apdu]") {
    Bytes out;
    CommandApdu(0x00, 0x20, 0x00, 0x98).encode(out);
    CHECK(to_hex(out) == "00 20 00 98");
    CommandApdu::case2(0x00, 0xB0, 0x01, 0x00, 256).encode(out);
    CHECK(to_hex(out) == "00 B0 01 00 00");
    CommandApdu(0x00, 0xA4, 0x02, 0x0C, Bytes{0x00, 0x0A}).encode(out);
    CHECK(to_hex(out) == "00 A4 02 0C 02 00 0A");
    CommandApdu(0x80, 0x2A, 0x00, 0x97, Bytes{0x01, 0x02}, 256).encode(out);
    CHECK(to_hex(out) == "80 2A 00 97 02 01 02 00");
    CommandApdu::case2(0x00, 0x84, 0x00, 0x00, 8).encode(out);
    CHECK(to_hex(out) == "00 84 00 00 08");
}

TEST_CASE("command APDUs switch to extended length only when they must", "[apdu]") {
    Bytes out;
    CommandApdu big(0x00, 0xDA, 0x00, 0x00, Bytes(300, 0xAB));
    CHECK(big.needs_extended());
    big.encode(out);
    REQUIRE(out.size() == 4 + 3 + 300);
    CHECK(out[4] == 0x00);
    CHECK(out[5] == 0x01);
    CHECK(out[6] == 0x2C);
    CommandApdu::case2(0x00, 0xB0, 0x00, 0x00, 1000).encode(out);
    CHECK(to_hex(out) == "00 B0 00 00 00 03 E8");
    CHECK_FALSE(CommandApdu::case2(0x00, 0xB0, 0x00, 0x00, 256).needs_extended());
}

TEST_CASE("bad APDU arguments are refused before anything is built", "[apdu]") {
    CHECK_THROWS_AS(CommandApdu(0, 0, 0, 0, Bytes{}, 0u), CardError);
    CHECK_THROWS_AS(CommandApdu(0, 0, 0, 0, Bytes{}, 65537u), CardError);
}

TEST_CASE("a sensitive APDU cannot be resent with another Le", "[apdu]") {
    const std::uint8_t pin[] = {'1', '2', '3', '4'};
    CommandApdu v = CommandApdu::sensitive(0x00, 0x20, 0x00, 0x98, pin, 4);
    CHECK(v.is_sensitive());
    CHECK_THROWS_AS(v.with_le(10), CardError);
}

TEST_CASE("responses are split into data and status word, and must hold a status word", "[apdu]") {
    ResponseApdu r = ResponseApdu::parse(from_hex("01 02 03 90 00"));
    CHECK(r.ok());
    CHECK(r.data() == Bytes{1, 2, 3});
    ResponseApdu sw_only = ResponseApdu::parse(from_hex("63 C2"));
    CHECK(sw_only.sw() == 0x63C2);
    CHECK(sw_only.data().empty());
    CHECK_THROWS_AS(ResponseApdu::parse(from_hex("90")), CardError);
    CHECK_THROWS_AS(ResponseApdu::parse(Bytes{}), CardError);
}

TEST_CASE("status words map to typed errors", "[apdu]") {
    CHECK(errc_from_sw(0x6982) == CardErrc::SecurityStatusNotSatisfied);
    CHECK(errc_from_sw(0x6983) == CardErrc::PinBlocked);
    CHECK(errc_from_sw(0x6984) == CardErrc::PinBlocked);
    CHECK(errc_from_sw(0x63C1) == CardErrc::PinIncorrect);
    CHECK(errc_from_sw(0x6A82) == CardErrc::FileNotFound);
    CHECK(errc_from_sw(0x6A86) == CardErrc::WrongP1P2);
    CHECK(errc_from_sw(0x6700) == CardErrc::WrongLength);
    CHECK(errc_from_sw(0x6985) == CardErrc::ConditionsNotSatisfied);
    CHECK(errc_from_sw(0x6D00) == CardErrc::InsNotSupported);
    CHECK(errc_from_sw(0x6E00) == CardErrc::ClaNotSupported);
    CHECK(errc_from_sw(0x6F00) == CardErrc::UnexpectedStatus);
    try {
        throw_for_sw(0x63C1, "VERIFY");
    } catch (const CardError& e) {
        CHECK(e.code() == CardErrc::PinIncorrect);
        CHECK(e.tries_left() == 1);
        CHECK(e.sw() == 0x63C1);
    }
}

TEST_CASE("DER lengths are read from the header in every definite form", "[apdu]") {
    CHECK(der_total_length(from_hex("30 05").data(), 2) == 7);
    CHECK(der_total_length(from_hex("30 81 90").data(), 3) == 3 + 0x90);
    CHECK(der_total_length(from_hex("30 82 05 D2").data(), 4) == 4 + 0x5D2);
    CHECK_THROWS_AS(der_total_length(from_hex("31 05").data(), 2), CardError);      // not a SEQUENCE
    CHECK_THROWS_AS(der_total_length(from_hex("30 80").data(), 2), CardError);      // indefinite
    CHECK_THROWS_AS(der_total_length(from_hex("30 84 00 00").data(), 4), CardError);  // too long a form
    CHECK_THROWS_AS(der_total_length(from_hex("30 82 05").data(), 3), CardError);   // truncated
    CHECK_THROWS_AS(der_total_length(from_hex("30").data(), 1), CardError);
}

TEST_CASE("hex helpers round-trip and reject junk", "[apdu]") {
    CHECK(to_hex(from_hex("00a4:040C")) == "00 A4 04 0C");
    CHECK(to_hex(from_hex("0102"), HexStyle::Packed) == "0102");
    CHECK_THROWS(from_hex("0G"));
    CHECK_THROWS(from_hex("012"));
}
