// The simulated card answers like the real JPKI AP (../shared/jpki-card.md), APDU by APDU.
// Every test drives jpki::sim::JpkiCard through process() with raw APDUs and checks the
// status words and data exactly, so a change in the simulator's behaviour breaks a test.
#include "test/common/test_support.h"
#include "test/sim/jpki_card.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <initializer_list>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

using namespace jpki;
using jpki::sim::CardConfig;
using jpki::sim::Fault;
using jpki::sim::JpkiCard;

namespace {

const char* kSelectJpki = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01";
const char* kJpkiAid = "D3 92 F0 00 26 01 00 00 00 01";
const char* kVerifyAuthSfi = "00 20 00 98 04 31 32 33 34";          // "1234"
const char* kVerifySignSfi = "00 20 00 9B 08 53 49 47 4E 31 32 33 34";  // "SIGN1234"
const char* kWrongAuthSfi = "00 20 00 98 04 30 30 30 30";           // "0000"
const char* kWrongSignSfi = "00 20 00 9B 08 57 52 4F 4E 47 50 49 4E";  // "WRONGPIN"

std::uint16_t sw_of(const Bytes& r) {
    REQUIRE(r.size() >= 2);
    return static_cast<std::uint16_t>(r[r.size() - 2] << 8 | r.back());
}
Bytes data_of(const Bytes& r) {
    REQUIRE(r.size() >= 2);
    return Bytes(r.begin(), r.end() - 2);
}
Bytes send(JpkiCard& card, const std::string& hex) { return card.process(from_hex(hex)); }
std::uint16_t sw(JpkiCard& card, const std::string& hex) { return sw_of(send(card, hex)); }
std::string hex_of(JpkiCard& card, const std::string& hex) { return to_hex(send(card, hex)); }

// CLA INS P1 P2 [Lc data] [Le]; le < 0 means no Le, le == 256 is sent as 00.
Bytes apdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, const Bytes& data, int le) {
    Bytes c = {cla, ins, p1, p2};
    if (!data.empty()) {
        c.push_back(static_cast<std::uint8_t>(data.size()));
        c.insert(c.end(), data.begin(), data.end());
    }
    if (le >= 0) c.push_back(static_cast<std::uint8_t>(le & 0xFF));
    return c;
}
Bytes sign_apdu(std::uint8_t p1, std::uint8_t p2, const Bytes& data) { return apdu(0x80, 0x2A, p1, p2, data, 256); }
Bytes read_apdu(std::size_t offset, int le = 256) {
    return apdu(0x00, 0xB0, static_cast<std::uint8_t>(offset >> 8), static_cast<std::uint8_t>(offset), {}, le);
}

std::unique_ptr<JpkiCard> powered_card(CardConfig config = test::card_config(1)) {
    auto card = std::make_unique<JpkiCard>(std::move(config));
    card->power_on();
    return card;
}
// A powered card with the JPKI AP selected.
std::unique_ptr<JpkiCard> jpki_card(CardConfig config = test::card_config(1)) {
    auto card = powered_card(std::move(config));
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    return card;
}

std::string select_ef_hex(unsigned fid) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "00 A4 02 0C 02 %02X %02X", fid >> 8, fid & 0xFF);
    return buf;
}
std::uint16_t select_ef(JpkiCard& card, unsigned fid) { return sw(card, select_ef_hex(fid)); }

// READ BINARY of the current EF in 256-byte chunks (Le=00) until the card answers 6B00.
Bytes read_current_ef(JpkiCard& card) {
    Bytes out;
    for (int i = 0; i < 64; ++i) {
        const Bytes r = card.process(read_apdu(out.size()));
        if (sw_of(r) == 0x6B00) {
            CHECK(r.size() == 2);
            return out;
        }
        REQUIRE(sw_of(r) == 0x9000);
        const Bytes d = data_of(r);
        REQUIRE(!d.empty());
        REQUIRE(d.size() <= 256);
        out.insert(out.end(), d.begin(), d.end());
    }
    FAIL("READ BINARY never reached the end of the EF");
    return out;
}
Bytes read_ef(JpkiCard& card, std::uint16_t fid) {
    REQUIRE(select_ef(card, fid) == 0x9000);
    return read_current_ef(card);
}

Bytes cert_file(int n, const std::string& name) { return test::read_file(test::pki_card_dir(n) + "/" + name); }

// `ef` is `der` followed by at least one byte of 0xFF filler, and a whole number of 256-byte blocks.
void check_cert_ef(const Bytes& ef, const Bytes& der) {
    REQUIRE(ef.size() > der.size());
    CHECK(ef.size() % 256 == 0);
    CHECK(Bytes(ef.begin(), ef.begin() + static_cast<long>(der.size())) == der);
    CHECK(std::all_of(ef.begin() + static_cast<long>(der.size()), ef.end(), [](std::uint8_t b) { return b == 0xFF; }));
}

Bytes msg(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes sign_ok(JpkiCard& card, std::uint8_t p1, std::uint8_t p2, const Bytes& data) {
    const Bytes r = card.process(sign_apdu(p1, p2, data));
    REQUIRE(sw_of(r) == 0x9000);
    const Bytes sig = data_of(r);
    REQUIRE(sig.size() == 256);
    return sig;
}

std::string temp_state_path() {
    std::random_device rd;
    return "/tmp/jpki-sim-state-" + std::to_string(getpid()) + "-" + std::to_string(rd()) + ".txt";
}

struct RemoveFile {
    std::string path;
    ~RemoveFile() { std::remove(path.c_str()); }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// ATR, power, GET DATA

TEST_CASE("sim: the ATR is the contact JPKI ATR", "[sim]") {
    CHECK(to_hex(JpkiCard::atr()) == "3B E0 00 FF 81 31 FE 45 14");
}

TEST_CASE("sim: GET DATA 5F51 returns the contact ATR without TS", "[sim]") {
    auto card = powered_card();
    CHECK(hex_of(*card, "00 CA 5F 51 00") == "E0 00 FF 81 31 FE 45 14 90 00");
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    CHECK(hex_of(*card, "00 CA 5F 51 00") == "E0 00 FF 81 31 FE 45 14 90 00");
}

TEST_CASE("sim: GET DATA of another tag answers 6A88, without Le 6700", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, "00 CA 5F 52 00") == "6A 88");
    CHECK(hex_of(*card, "00 CA 5F 51") == "67 00");
}

TEST_CASE("sim: a card that is not powered answers nothing", "[sim]") {
    JpkiCard card(test::card_config());
    CHECK_FALSE(card.powered());
    CHECK(send(card, kSelectJpki).empty());
    card.power_on();
    CHECK(card.powered());
    CHECK(sw(card, kSelectJpki) == 0x9000);
    card.power_off();
    CHECK_FALSE(card.powered());
    CHECK(send(card, kSelectJpki).empty());
}

TEST_CASE("sim: resets() counts power-offs and resets, not power-ons", "[sim]") {
    JpkiCard card(test::card_config());
    CHECK(card.resets() == 0);
    card.power_on();
    CHECK(card.resets() == 0);
    card.reset();
    CHECK(card.resets() == 1);
    CHECK(card.powered());
    card.power_off();
    CHECK(card.resets() == 2);
    card.power_on();
    CHECK(card.resets() == 2);
}

// ---------------------------------------------------------------------------------------------
// SELECT

TEST_CASE("sim: SELECT the JPKI AP with P2=0C answers 9000 and no data", "[sim]") {
    auto card = powered_card();
    CHECK(hex_of(*card, kSelectJpki) == "90 00");
}

TEST_CASE("sim: SELECT the JPKI AP with P2=00 returns an FCI with the DF name", "[sim]") {
    auto card = powered_card();
    CHECK(hex_of(*card, std::string("00 A4 04 00 0A ") + kJpkiAid + " 00") ==
          std::string("6F 0C 84 0A ") + kJpkiAid + " 90 00");
    // The AP is selected: its EFs can be selected.
    CHECK(select_ef(*card, 0x000A) == 0x9000);
}

TEST_CASE("sim: SELECT of the four other APs and the ISD answers 9000", "[sim]") {
    auto card = powered_card();
    CHECK(hex_of(*card, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08") == "90 00");  // input support
    CHECK(hex_of(*card, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02") == "90 00");  // card surface
    CHECK(hex_of(*card, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 01") == "90 00");  // resident registry
    CHECK(hex_of(*card, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 01 00") == "90 00");  // common card
    CHECK(hex_of(*card, "00 A4 04 0C 07 A0 00 00 01 51 00 00") == "90 00");           // GlobalPlatform ISD
}

TEST_CASE("sim: SELECT of another AP with P2=00 returns its DF name", "[sim]") {
    auto card = powered_card();
    CHECK(hex_of(*card, "00 A4 04 00 07 A0 00 00 01 51 00 00 00") == "6F 09 84 07 A0 00 00 01 51 00 00 90 00");
}

TEST_CASE("sim: the JPKI EFs are not visible from another AP or the ISD", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02") == 0x9000);
    CHECK(select_ef(*card, 0x000A) == 0x6A82);
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    REQUIRE(sw(*card, "00 A4 04 0C 07 A0 00 00 01 51 00 00") == 0x9000);
    CHECK(select_ef(*card, 0x000A) == 0x6A82);
}

TEST_CASE("sim: SELECT of an unknown AID answers 6A82", "[sim]") {
    auto card = powered_card();
    CHECK(hex_of(*card, "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 02") == "6A 82");
    CHECK(hex_of(*card, "00 A4 04 0C 09 D3 92 F0 00 26 01 00 00 00") == "6A 82");  // a prefix of the AID
    CHECK(hex_of(*card, "00 A4 04 0C 05 A0 00 00 00 03") == "6A 82");
    // A failed SELECT leaves no AP selected.
    CHECK(select_ef(*card, 0x000A) == 0x6A82);
}

TEST_CASE("sim: SELECT with a wrong P1/P2 answers 6A86", "[sim]") {
    auto card = powered_card();
    CHECK(hex_of(*card, std::string("00 A4 04 04 0A ") + kJpkiAid) == "6A 86");
    CHECK(hex_of(*card, std::string("00 A4 04 01 0A ") + kJpkiAid) == "6A 86");
    CHECK(hex_of(*card, std::string("00 A4 01 0C 0A ") + kJpkiAid) == "6A 86");
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    CHECK(hex_of(*card, "00 A4 02 00 02 00 0A") == "6A 86");  // EF select must use P2=0C
    CHECK(hex_of(*card, "00 A4 02 04 02 00 0A") == "6A 86");
}

TEST_CASE("sim: SELECT with Lc=0 or an Lc that does not match the data answers 6700", "[sim]") {
    auto card = powered_card();
    CHECK(hex_of(*card, "00 A4 04 0C 00") == "67 00");                         // Lc=0, no AID
    CHECK(hex_of(*card, "00 A4 04 0C 0A D3 92 F0 00 26") == "67 00");          // Lc=10, 5 bytes
    CHECK(hex_of(*card, std::string("00 A4 04 0C 0C ") + kJpkiAid) == "67 00");  // Lc=12, 10 bytes
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    CHECK(hex_of(*card, "00 A4 02 0C 01 0A") == "67 00");        // an EF id of 1 byte
    CHECK(hex_of(*card, "00 A4 02 0C 03 00 00 0A") == "67 00");  // an EF id of 3 bytes
    CHECK(hex_of(*card, "00 A4 02 0C 02 00") == "67 00");        // Lc=2, 1 byte
}

TEST_CASE("sim: SELECT EF by id answers 9000 for every known JPKI EF", "[sim]") {
    auto card = jpki_card();
    for (unsigned fid : {0x0001, 0x0002, 0x0006, 0x0008, 0x0009, 0x000A, 0x000B, 0x0017, 0x0018, 0x001A, 0x001B}) {
        INFO("EF " << fid);
        CHECK(hex_of(*card, select_ef_hex(fid)) == "90 00");
    }
}

TEST_CASE("sim: SELECT of an unknown EF answers 6A82", "[sim]") {
    auto card = jpki_card();
    for (unsigned fid : {0x0000, 0x0003, 0x0011, 0x0016, 0x0019, 0x0099, 0x3F00, 0xFFFF}) {
        INFO("EF " << fid);
        CHECK(hex_of(*card, select_ef_hex(fid)) == "6A 82");
    }
}

TEST_CASE("sim: SELECT EF before the JPKI AP is selected answers 6A82", "[sim]") {
    auto card = powered_card();
    CHECK(hex_of(*card, select_ef_hex(0x000A)) == "6A 82");
    CHECK(hex_of(*card, select_ef_hex(0x0018)) == "6A 82");
}

TEST_CASE("sim: SELECT MF answers 6A86 right after power-on and after reset", "[sim]") {
    auto card = powered_card();
    CHECK(hex_of(*card, "00 A4 00 00") == "6A 86");
    CHECK(hex_of(*card, "00 A4 00 00") == "6A 86");  // still 6A86: nothing was selected
    CHECK(sw(*card, "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 02") == 0x6A82);  // a failed select
    CHECK(hex_of(*card, "00 A4 00 00") == "6A 86");
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    CHECK(hex_of(*card, "00 A4 00 00") == "90 00");
    card->reset();
    CHECK(hex_of(*card, "00 A4 00 00") == "6A 86");
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    card->power_off();
    card->power_on();
    CHECK(hex_of(*card, "00 A4 00 00") == "6A 86");
}

TEST_CASE("sim: SELECT MF answers 9000 after another SELECT, without changing the current DF or EF", "[sim]") {
    auto card = jpki_card();
    REQUIRE(select_ef(*card, 0x0008) == 0x9000);
    CHECK(hex_of(*card, "00 A4 00 00") == "90 00");
    // Still inside the JPKI AP with EF 0008 current.
    CHECK(hex_of(*card, "00 B0 00 00 00") == "8F 8F 00 90 00");
    CHECK(select_ef(*card, 0x000A) == 0x9000);
    // (Not pinned here: SELECT MF after selecting the ISD. jpki-card.md says the ISD "restores
    // the power-on state", where SELECT MF answers 6A86; the simulator answers 9000.)
}

TEST_CASE("sim: SELECT 3F00 by FID answers 6A82", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, "00 A4 00 00 02 3F 00") == "6A 82");
    CHECK(hex_of(*card, "00 A4 02 0C 02 3F 00") == "6A 82");
    // The AP is still selected afterwards.
    CHECK(select_ef(*card, 0x000A) == 0x9000);
}

TEST_CASE("sim: re-SELECT of the JPKI AP keeps the security status", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    REQUIRE(sw(*card, kVerifySignSfi) == 0x9000);
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    CHECK(card->auth_verified());
    CHECK(card->sign_verified());
    sign_ok(*card, 0x00, 0x97, test::sha256_digest_info(msg("a")));
    sign_ok(*card, 0x00, 0x9A, test::sha256_digest_info(msg("a")));
    CHECK(select_ef(*card, 0x0001) == 0x9000);
    CHECK(sw_of(send(*card, "00 B0 00 00 00")) == 0x9000);
}

TEST_CASE("sim: reset() clears the security status", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    REQUIRE(sw(*card, kVerifySignSfi) == 0x9000);
    card->reset();
    CHECK_FALSE(card->auth_verified());
    CHECK_FALSE(card->sign_verified());
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    CHECK(card->process(sign_apdu(0x00, 0x97, test::sha256_digest_info(msg("a")))) == from_hex("69 82"));
    CHECK(card->process(sign_apdu(0x00, 0x9A, test::sha256_digest_info(msg("a")))) == from_hex("69 82"));
}

TEST_CASE("sim: power_off() clears the security status", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    REQUIRE(sw(*card, kVerifySignSfi) == 0x9000);
    card->power_off();
    card->power_on();
    CHECK_FALSE(card->auth_verified());
    CHECK_FALSE(card->sign_verified());
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    CHECK(card->process(sign_apdu(0x00, 0x97, test::sha256_digest_info(msg("a")))) == from_hex("69 82"));
    REQUIRE(select_ef(*card, 0x0001) == 0x9000);
    CHECK(hex_of(*card, "00 B0 00 00 00") == "69 82");
}

TEST_CASE("sim: by default selecting another AP keeps the JPKI security status", "[sim]") {
    CHECK_FALSE(CardConfig{}.other_ap_clears_status);
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    REQUIRE(sw(*card, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02") == 0x9000);
    CHECK(card->auth_verified());
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    sign_ok(*card, 0x00, 0x97, test::sha256_digest_info(msg("a")));
}

TEST_CASE("sim: with other_ap_clears_status selecting another AP clears the JPKI security status", "[sim]") {
    CardConfig cfg = test::card_config();
    cfg.other_ap_clears_status = true;
    auto card = jpki_card(cfg);
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    REQUIRE(sw(*card, kVerifySignSfi) == 0x9000);
    // Re-selecting the JPKI AP itself still keeps it.
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    CHECK(card->auth_verified());
    REQUIRE(sw(*card, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02") == 0x9000);
    CHECK_FALSE(card->auth_verified());
    CHECK_FALSE(card->sign_verified());
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    CHECK(card->process(sign_apdu(0x00, 0x97, test::sha256_digest_info(msg("a")))) == from_hex("69 82"));
    CHECK(card->process(sign_apdu(0x00, 0x9A, test::sha256_digest_info(msg("a")))) == from_hex("69 82"));
}

// ---------------------------------------------------------------------------------------------
// READ BINARY

TEST_CASE("sim: the auth cert EF read in 256-byte chunks is the DER certificate plus FF filler", "[sim]") {
    auto card = jpki_card();
    REQUIRE(select_ef(*card, 0x000A) == 0x9000);
    const Bytes der = cert_file(1, "auth_cert.der");
    Bytes ef;
    for (;;) {
        const Bytes r = card->process(read_apdu(ef.size()));
        if (ef.size() >= der.size() && r == from_hex("6B 00")) break;
        REQUIRE(sw_of(r) == 0x9000);
        REQUIRE(r.size() == 256 + 2);  // the EF is a whole number of 256-byte chunks
        ef.insert(ef.end(), r.begin(), r.end() - 2);
        REQUIRE(ef.size() < 16 * 256);
    }
    check_cert_ef(ef, der);
}

TEST_CASE("sim: the CA certificate EFs read without a PIN", "[sim]") {
    auto card = jpki_card();
    check_cert_ef(read_ef(*card, 0x000B), cert_file(1, "auth_ca.der"));
    check_cert_ef(read_ef(*card, 0x0002), cert_file(1, "sign_ca.der"));
}

TEST_CASE("sim: READ BINARY at or after the end of the EF answers 6B00", "[sim]") {
    auto card = jpki_card();
    const std::size_t size = read_ef(*card, 0x000A).size();
    CHECK(card->process(read_apdu(size)) == from_hex("6B 00"));
    CHECK(card->process(read_apdu(size, 1)) == from_hex("6B 00"));
    CHECK(card->process(read_apdu(size + 1)) == from_hex("6B 00"));
    CHECK(card->process(read_apdu(0x7FFF)) == from_hex("6B 00"));  // far beyond (15-bit offset)
}

TEST_CASE("sim: READ BINARY crossing the end of the EF returns only the bytes left", "[sim]") {
    auto card = jpki_card();
    const Bytes ef = read_ef(*card, 0x000A);
    const Bytes r = card->process(read_apdu(ef.size() - 10));
    REQUIRE(sw_of(r) == 0x9000);
    CHECK(data_of(r) == Bytes(ef.end() - 10, ef.end()));
    CHECK(hex_of(*card, "00 B0 00 00 00") == to_hex(Bytes(ef.begin(), ef.begin() + 256)) + " 90 00");
}

TEST_CASE("sim: READ BINARY returns exactly Le bytes from the offset", "[sim]") {
    auto card = jpki_card();
    const Bytes ef = read_ef(*card, 0x000A);
    const Bytes r = card->process(read_apdu(0x0123, 7));
    CHECK(data_of(r) == Bytes(ef.begin() + 0x123, ef.begin() + 0x123 + 7));
    CHECK(sw_of(r) == 0x9000);
    CHECK(data_of(card->process(read_apdu(0, 4))) == Bytes(ef.begin(), ef.begin() + 4));
}

TEST_CASE("sim: READ BINARY with no current EF answers 6986", "[sim]") {
    auto card = powered_card();
    CHECK(hex_of(*card, "00 B0 00 00 00") == "69 86");  // no AP
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    CHECK(hex_of(*card, "00 B0 00 00 00") == "69 86");  // AP, no EF
    REQUIRE(select_ef(*card, 0x000A) == 0x9000);
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);          // re-select drops the current EF
    CHECK(hex_of(*card, "00 B0 00 00 00") == "69 86");
}

TEST_CASE("sim: READ BINARY of a key or PIN IEF answers 6981, even after VERIFY", "[sim]") {
    auto card = jpki_card();
    for (unsigned fid : {0x0017, 0x0018, 0x001A, 0x001B}) {
        INFO("EF " << fid);
        REQUIRE(select_ef(*card, fid) == 0x9000);
        CHECK(hex_of(*card, "00 B0 00 00 00") == "69 81");
    }
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    REQUIRE(sw(*card, kVerifySignSfi) == 0x9000);
    for (unsigned fid : {0x0017, 0x0018, 0x001A, 0x001B}) {
        INFO("EF " << fid);
        REQUIRE(select_ef(*card, fid) == 0x9000);
        CHECK(hex_of(*card, "00 B0 00 00 00") == "69 81");
    }
}

TEST_CASE("sim: READ BINARY of the protected EF 0009 answers 6982, even after both VERIFYs", "[sim]") {
    auto card = jpki_card();
    REQUIRE(select_ef(*card, 0x0009) == 0x9000);
    CHECK(hex_of(*card, "00 B0 00 00 00") == "69 82");
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    REQUIRE(sw(*card, kVerifySignSfi) == 0x9000);
    REQUIRE(select_ef(*card, 0x0009) == 0x9000);
    CHECK(hex_of(*card, "00 B0 00 00 00") == "69 82");
    CHECK(hex_of(*card, "00 B0 89 00 00") == "69 82");  // by SFI too
}

TEST_CASE("sim: the sign cert EF 0001 answers 6982 until the sign PIN is verified", "[sim]") {
    auto card = jpki_card();
    REQUIRE(select_ef(*card, 0x0001) == 0x9000);
    CHECK(hex_of(*card, "00 B0 00 00 00") == "69 82");
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);  // the auth PIN is not enough
    REQUIRE(select_ef(*card, 0x0001) == 0x9000);
    CHECK(hex_of(*card, "00 B0 00 00 00") == "69 82");
    REQUIRE(sw(*card, kVerifySignSfi) == 0x9000);
    check_cert_ef(read_ef(*card, 0x0001), cert_file(1, "sign_cert.der"));
}

TEST_CASE("sim: EF 0006 is a 160-byte token info starting with JPKIAPICCTOKEN2 and the config serial", "[sim]") {
    auto card = jpki_card();
    REQUIRE(select_ef(*card, 0x0006) == 0x9000);
    const Bytes r = send(*card, "00 B0 00 00 00");
    REQUIRE(sw_of(r) == 0x9000);
    const Bytes info = data_of(r);
    REQUIRE(info.size() == 160);
    CHECK(std::string(info.begin(), info.begin() + 32) == "JPKIAPICCTOKEN2                 ");
    CHECK(std::string(info.begin() + 32, info.begin() + 64) == "JPKI card simulator             ");
    CHECK(std::string(info.begin() + 64, info.begin() + 80) == "E16R01NJ        ");
    CHECK(std::string(info.begin() + 80, info.begin() + 96) == test::card_config(1).serial);
    CHECK(std::string(info.begin() + 80, info.begin() + 96) == "JPKISIMCARD00001");
    // flags, sessions, PIN lengths, memory (big-endian ULONGs), versions, utcTime
    CHECK(to_hex(Bytes(info.begin() + 96, info.begin() + 144)) ==
          "00 00 04 0D 00 00 00 01 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 10 00 00 00 06 "
          "FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF 30 33 30 31");
    CHECK(std::string(info.begin() + 144, info.end()) == std::string(16, ' '));
    CHECK(card->process(read_apdu(160)) == from_hex("6B 00"));
}

TEST_CASE("sim: EF 0006 carries the configured label and serial", "[sim]") {
    CardConfig cfg = test::card_config();
    cfg.token_label = "JPKIAPGPSETOKEN";
    cfg.serial = "0000000020500003";
    auto card = jpki_card(cfg);
    const Bytes info = read_ef(*card, 0x0006);
    REQUIRE(info.size() == 160);
    CHECK(std::string(info.begin(), info.begin() + 32) == "JPKIAPGPSETOKEN                 ");
    CHECK(std::string(info.begin() + 80, info.begin() + 96) == "0000000020500003");
}

TEST_CASE("sim: EF 0008 is 8F 8F 00 on a card with both certificates", "[sim]") {
    auto card = jpki_card();
    REQUIRE(select_ef(*card, 0x0008) == 0x9000);
    CHECK(hex_of(*card, "00 B0 00 00 00") == "8F 8F 00 90 00");
    CHECK(hex_of(*card, "00 B0 00 03 00") == "6B 00");
}

TEST_CASE("sim: without a sign cert EF 0008 is 00 8F 00 and EF 0001 / key 001A are not found", "[sim]") {
    CardConfig cfg = test::card_config();
    cfg.has_sign_cert = false;
    auto card = jpki_card(cfg);
    REQUIRE(select_ef(*card, 0x0008) == 0x9000);
    CHECK(hex_of(*card, "00 B0 00 00 00") == "00 8F 00 90 00");
    CHECK(select_ef(*card, 0x0001) == 0x6A82);
    CHECK(select_ef(*card, 0x001A) == 0x6A82);
    CHECK(hex_of(*card, "00 B0 81 00 00") == "6A 82");  // SFI read of 0001
    // The auth side is unaffected.
    check_cert_ef(read_ef(*card, 0x000A), cert_file(1, "auth_cert.der"));
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    sign_ok(*card, 0x00, 0x97, test::sha256_digest_info(msg("a")));
    // Even with the sign PIN verified there is no sign key to use.
    REQUIRE(sw(*card, kVerifySignSfi) == 0x9000);
    CHECK(card->process(sign_apdu(0x00, 0x9A, test::sha256_digest_info(msg("a")))) == from_hex("6A 88"));
}

TEST_CASE("sim: READ BINARY by SFI reads without SELECT and makes the EF current", "[sim]") {
    auto card = jpki_card();
    const Bytes ef = read_ef(*card, 0x000A);
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);  // no current EF now
    CHECK(hex_of(*card, "00 B0 8A 00 00") == to_hex(Bytes(ef.begin(), ef.begin() + 256)) + " 90 00");
    CHECK(hex_of(*card, "00 B0 8A 10 08") == to_hex(Bytes(ef.begin() + 16, ef.begin() + 24)) + " 90 00");
    CHECK(hex_of(*card, "00 B0 8A FF 00") == to_hex(Bytes(ef.begin() + 255, ef.begin() + 511)) + " 90 00");
    // The EF is now current, so the ordinary form reads on from it.
    CHECK(hex_of(*card, "00 B0 01 00 04") == to_hex(Bytes(ef.begin() + 256, ef.begin() + 260)) + " 90 00");
    CHECK(hex_of(*card, "00 B0 88 00 00") == "8F 8F 00 90 00");
    CHECK(hex_of(*card, "00 B0 00 00 00") == "8F 8F 00 90 00");
    const Bytes info = data_of(send(*card, "00 B0 86 00 00"));
    CHECK(info.size() == 160);
}

TEST_CASE("sim: READ BINARY by SFI of the sign cert needs the sign PIN", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, "00 B0 81 00 00") == "69 82");
    REQUIRE(sw(*card, kVerifySignSfi) == 0x9000);
    const Bytes der = cert_file(1, "sign_cert.der");
    CHECK(hex_of(*card, "00 B0 81 00 00") == to_hex(Bytes(der.begin(), der.begin() + 256)) + " 90 00");
}

TEST_CASE("sim: READ BINARY by SFI of an unknown EF, a key, or outside the AP answers 6A82", "[sim]") {
    auto card = powered_card();
    CHECK(hex_of(*card, "00 B0 8A 00 00") == "6A 82");  // AP not selected
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    CHECK(hex_of(*card, "00 B0 83 00 00") == "6A 82");
    CHECK(hex_of(*card, "00 B0 97 00 00") == "6A 82");  // key 0017
    CHECK(hex_of(*card, "00 B0 98 00 00") == "6A 82");  // PIN 0018
}

TEST_CASE("sim: READ BINARY without Le or with data answers 6700", "[sim]") {
    auto card = jpki_card();
    REQUIRE(select_ef(*card, 0x000A) == 0x9000);
    CHECK(hex_of(*card, "00 B0 00 00 01 00") == "67 00");     // case 3: data, no Le
    CHECK(hex_of(*card, "00 B0 00 00 01 00 00") == "67 00");  // case 4
    CHECK(hex_of(*card, "00 B0 00 00") == "67 00");           // case 1
}

// ---------------------------------------------------------------------------------------------
// Extended length, GET CHALLENGE

TEST_CASE("sim: READ BINARY with an extended Le answers 6700", "[sim]") {
    auto card = jpki_card();
    REQUIRE(select_ef(*card, 0x000A) == 0x9000);
    CHECK(hex_of(*card, "00 B0 00 00 00 01 00") == "67 00");
    CHECK(hex_of(*card, "00 B0 00 00 00 00 00") == "67 00");
}

TEST_CASE("sim: GET CHALLENGE with an extended Le answers 6985", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, "00 84 00 00 00 00 08") == "69 85");
    CHECK(hex_of(*card, "00 84 00 00 00 01 00") == "69 85");
}

TEST_CASE("sim: GET CHALLENGE returns Le random bytes, at MF and inside the AP", "[sim]") {
    auto card = powered_card();
    const Bytes a = send(*card, "00 84 00 00 08");
    REQUIRE(a.size() == 10);
    CHECK(sw_of(a) == 0x9000);
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    const Bytes b = send(*card, "00 84 00 00 08");
    REQUIRE(b.size() == 10);
    CHECK(sw_of(b) == 0x9000);
    CHECK(data_of(a) != data_of(b));
    const Bytes c = send(*card, "00 84 00 00 00");  // Le=00: 256 bytes
    CHECK(c.size() == 258);
    CHECK(sw_of(c) == 0x9000);
    CHECK(send(*card, "00 84 00 00 01").size() == 3);
}

TEST_CASE("sim: GET CHALLENGE with a wrong P1/P2 answers 6A86, without Le 6700", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, "00 84 01 00 08") == "6A 86");
    CHECK(hex_of(*card, "00 84 00 01 08") == "6A 86");
    CHECK(hex_of(*card, "00 84 00 00") == "67 00");
}

// ---------------------------------------------------------------------------------------------
// VERIFY

TEST_CASE("sim: VERIFY the auth PIN by SFI (P2=98)", "[sim]") {
    auto card = jpki_card();
    CHECK_FALSE(card->auth_verified());
    CHECK(hex_of(*card, kVerifyAuthSfi) == "90 00");
    CHECK(card->auth_verified());
    CHECK_FALSE(card->sign_verified());
}

TEST_CASE("sim: VERIFY the auth PIN after SELECT 0018 with P2=80", "[sim]") {
    auto card = jpki_card();
    REQUIRE(select_ef(*card, 0x0018) == 0x9000);
    CHECK(hex_of(*card, "00 20 00 80 04 31 32 33 34") == "90 00");
    CHECK(card->auth_verified());
    CHECK_FALSE(card->sign_verified());
}

TEST_CASE("sim: VERIFY the sign PIN by SFI (P2=9B)", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, kVerifySignSfi) == "90 00");
    CHECK(card->sign_verified());
    CHECK_FALSE(card->auth_verified());
}

TEST_CASE("sim: VERIFY the sign PIN after SELECT 001B with P2=80", "[sim]") {
    auto card = jpki_card();
    REQUIRE(select_ef(*card, 0x001B) == 0x9000);
    CHECK(hex_of(*card, "00 20 00 80 08 53 49 47 4E 31 32 33 34") == "90 00");
    CHECK(card->sign_verified());
    CHECK_FALSE(card->auth_verified());
}

TEST_CASE("sim: the two PINs are not interchangeable", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, "00 20 00 98 08 53 49 47 4E 31 32 33 34") == "63 C2");  // sign PIN on the auth IEF
    CHECK(hex_of(*card, "00 20 00 9B 04 31 32 33 34") == "63 C4");              // auth PIN on the sign IEF
    CHECK_FALSE(card->auth_verified());
    CHECK_FALSE(card->sign_verified());
}

TEST_CASE("sim: the empty VERIFY answers 63C3 / 63C5 and costs no try", "[sim]") {
    auto card = jpki_card();
    for (int i = 0; i < 5; ++i) {
        CHECK(hex_of(*card, "00 20 00 98") == "63 C3");
        CHECK(hex_of(*card, "00 20 00 9B") == "63 C5");
    }
    CHECK(card->tries_left(false) == 3);
    CHECK(card->tries_left(true) == 5);
    REQUIRE(select_ef(*card, 0x0018) == 0x9000);
    CHECK(hex_of(*card, "00 20 00 80") == "63 C3");
    REQUIRE(select_ef(*card, 0x001B) == 0x9000);
    CHECK(hex_of(*card, "00 20 00 80") == "63 C5");
    CHECK_FALSE(card->auth_verified());
}

TEST_CASE("sim: the empty VERIFY answers 63Cx even right after a correct VERIFY, and keeps the status", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    CHECK(hex_of(*card, "00 20 00 98") == "63 C3");
    CHECK(card->auth_verified());
    sign_ok(*card, 0x00, 0x97, test::sha256_digest_info(msg("a")));
}

TEST_CASE("sim: a wrong auth PIN counts down 63C2, 63C1, 63C0", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, kWrongAuthSfi) == "63 C2");
    CHECK(hex_of(*card, "00 20 00 98") == "63 C2");
    CHECK(hex_of(*card, kWrongAuthSfi) == "63 C1");
    CHECK(hex_of(*card, kWrongAuthSfi) == "63 C0");
    CHECK(card->tries_left(false) == 0);
    CHECK(card->tries_left(true) == 5);  // the sign PIN is untouched
    CHECK_FALSE(card->auth_verified());
}

TEST_CASE("sim: a PIN of the wrong length counts as a wrong PIN", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, "00 20 00 98 05 31 32 33 34 35") == "63 C2");
    CHECK(hex_of(*card, "00 20 00 98 03 31 32 33") == "63 C1");
    CHECK(hex_of(*card, "00 20 00 9B 09 53 49 47 4E 31 32 33 34 35") == "63 C4");
    CHECK(hex_of(*card, "00 20 00 9B 07 73 69 67 6E 31 32 33") == "63 C3");
}

TEST_CASE("sim: the sign PIN is case-sensitive", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, "00 20 00 9B 08 73 69 67 6E 31 32 33 34") == "63 C4");  // "sign1234"
    CHECK_FALSE(card->sign_verified());
}

TEST_CASE("sim: the right PIN resets the counter to the maximum and sets the status", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kWrongAuthSfi) == 0x63C2);
    REQUIRE(sw(*card, kWrongAuthSfi) == 0x63C1);
    CHECK(hex_of(*card, kVerifyAuthSfi) == "90 00");
    CHECK(card->auth_verified());
    CHECK(card->tries_left(false) == 3);
    CHECK(hex_of(*card, "00 20 00 98") == "63 C3");

    REQUIRE(sw(*card, kWrongSignSfi) == 0x63C4);
    REQUIRE(sw(*card, kWrongSignSfi) == 0x63C3);
    REQUIRE(sw(*card, kWrongSignSfi) == 0x63C2);
    CHECK(hex_of(*card, kVerifySignSfi) == "90 00");
    CHECK(card->sign_verified());
    CHECK(hex_of(*card, "00 20 00 9B") == "63 C5");
}

TEST_CASE("sim: a wrong PIN after a right one drops that PIN's status", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    REQUIRE(sw(*card, kVerifySignSfi) == 0x9000);
    CHECK(hex_of(*card, kWrongAuthSfi) == "63 C2");
    CHECK_FALSE(card->auth_verified());
    CHECK(card->sign_verified());
    CHECK(card->process(sign_apdu(0x00, 0x97, test::sha256_digest_info(msg("a")))) == from_hex("69 82"));
    sign_ok(*card, 0x00, 0x9A, test::sha256_digest_info(msg("a")));
}

TEST_CASE("sim: a blocked auth PIN answers 63C0 to the empty VERIFY and 6984 to the right PIN", "[sim]") {
    auto card = jpki_card();
    for (int i = 0; i < 3; ++i) REQUIRE(sw(*card, kWrongAuthSfi) == 0x63C2 - i);
    CHECK(hex_of(*card, "00 20 00 98") == "63 C0");
    for (int i = 0; i < 3; ++i) {
        CHECK(hex_of(*card, kVerifyAuthSfi) == "69 84");
        CHECK(hex_of(*card, kWrongAuthSfi) == "69 84");
        CHECK_FALSE(card->auth_verified());
    }
    CHECK(card->tries_left(false) == 0);
    CHECK(hex_of(*card, "00 20 00 98") == "63 C0");
    CHECK(card->process(sign_apdu(0x00, 0x97, test::sha256_digest_info(msg("a")))) == from_hex("69 82"));
    // The blocked PIN does not block the other one.
    CHECK(hex_of(*card, kVerifySignSfi) == "90 00");
}

TEST_CASE("sim: with blocked_verify_sw=63C0 a blocked PIN answers 63C0 and never verifies", "[sim]") {
    CHECK(CardConfig{}.blocked_verify_sw == 0x6984);
    CardConfig cfg = test::card_config();
    cfg.blocked_verify_sw = 0x63C0;
    auto card = jpki_card(cfg);
    for (int i = 0; i < 3; ++i) REQUIRE(sw(*card, kWrongAuthSfi) == 0x63C2 - i);
    CHECK(hex_of(*card, kVerifyAuthSfi) == "63 C0");
    CHECK_FALSE(card->auth_verified());
    CHECK(hex_of(*card, "00 20 00 98") == "63 C0");
    CHECK(card->tries_left(false) == 0);
}

TEST_CASE("sim: the sign PIN has 5 tries and then blocks", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, kWrongSignSfi) == "63 C4");
    CHECK(hex_of(*card, kWrongSignSfi) == "63 C3");
    CHECK(hex_of(*card, kWrongSignSfi) == "63 C2");
    CHECK(hex_of(*card, kWrongSignSfi) == "63 C1");
    CHECK(hex_of(*card, kWrongSignSfi) == "63 C0");
    CHECK(hex_of(*card, "00 20 00 9B") == "63 C0");
    CHECK(hex_of(*card, kVerifySignSfi) == "69 84");
    CHECK_FALSE(card->sign_verified());
    CHECK(card->tries_left(true) == 0);
    CHECK(card->tries_left(false) == 3);
}

TEST_CASE("sim: set_tries_left sets the counter the card reports", "[sim]") {
    auto card = jpki_card();
    card->set_tries_left(false, 1);
    card->set_tries_left(true, 2);
    CHECK(hex_of(*card, "00 20 00 98") == "63 C1");
    CHECK(hex_of(*card, "00 20 00 9B") == "63 C2");
    card->set_tries_left(false, 0);
    CHECK(hex_of(*card, kVerifyAuthSfi) == "69 84");
}

TEST_CASE("sim: VERIFY with a wrong P1 or an unknown P2 answers 6A86", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, "00 20 01 98 04 31 32 33 34") == "6A 86");
    CHECK(hex_of(*card, "00 20 FF 98") == "6A 86");
    CHECK(hex_of(*card, "00 20 00 99 04 31 32 33 34") == "6A 86");
    CHECK(hex_of(*card, "00 20 00 00 04 31 32 33 34") == "6A 86");
    CHECK(hex_of(*card, "00 20 00 81") == "6A 86");
    CHECK(hex_of(*card, "00 20 00 97 04 31 32 33 34") == "6A 86");  // the key's SFI is not a PIN
    CHECK(card->tries_left(false) == 3);
    CHECK_FALSE(card->auth_verified());
}

TEST_CASE("sim: VERIFY P2=80 with a non-PIN current EF answers 6A88", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, "00 20 00 80 04 31 32 33 34") == "6A 88");  // no current EF
    for (unsigned fid : {0x000A, 0x0017, 0x001A, 0x0006}) {
        INFO("EF " << fid);
        REQUIRE(select_ef(*card, fid) == 0x9000);
        CHECK(hex_of(*card, "00 20 00 80 04 31 32 33 34") == "6A 88");
        CHECK(hex_of(*card, "00 20 00 80") == "6A 88");
    }
    CHECK(card->tries_left(false) == 3);
    CHECK_FALSE(card->auth_verified());
}

TEST_CASE("sim: VERIFY before the AP is selected answers 6A88", "[sim]") {
    auto card = powered_card();
    CHECK(hex_of(*card, kVerifyAuthSfi) == "6A 88");
    CHECK(hex_of(*card, "00 20 00 98") == "6A 88");
    REQUIRE(sw(*card, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02") == 0x9000);  // another AP
    CHECK(hex_of(*card, kVerifyAuthSfi) == "6A 88");
    CHECK_FALSE(card->auth_verified());
    CHECK(card->tries_left(false) == 3);
}

TEST_CASE("sim: VERIFY with an Le answers 6700 and costs no try", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, "00 20 00 98 04 30 30 30 30 00") == "67 00");
    CHECK(hex_of(*card, "00 20 00 98 00") == "67 00");
    CHECK(card->tries_left(false) == 3);
}

TEST_CASE("sim: with sfi_verify=false VERIFY P2=98/9B answers 6A86 but P2=80 works", "[sim]") {
    CHECK(CardConfig{}.sfi_verify);
    CardConfig cfg = test::card_config();
    cfg.sfi_verify = false;
    auto card = jpki_card(cfg);
    CHECK(hex_of(*card, kVerifyAuthSfi) == "6A 86");
    CHECK(hex_of(*card, kVerifySignSfi) == "6A 86");
    CHECK(hex_of(*card, "00 20 00 98") == "6A 86");
    CHECK(card->tries_left(false) == 3);
    CHECK_FALSE(card->auth_verified());
    REQUIRE(select_ef(*card, 0x0018) == 0x9000);
    CHECK(hex_of(*card, "00 20 00 80 04 31 32 33 34") == "90 00");
    CHECK(card->auth_verified());
}

TEST_CASE("sim: the log redacts the data of a VERIFY", "[sim]") {
    auto card = jpki_card();
    card->clear_log();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    REQUIRE(card->log().size() == 1);
    const auto& entry = card->log().back();
    CHECK(entry.redacted);
    CHECK(entry.lc == 4);
    CHECK(to_hex(entry.header) == "00 20 00 98");
    CHECK(entry.sw == 0x9000);
    CHECK(entry.response_len == 0);
    const std::string text = entry.text();
    CHECK(text == "00 20 00 98 Lc=4 data=<redacted> -> 9000 len=0");
    CHECK(text.find("<redacted>") != std::string::npos);
    CHECK(text.find("31 32 33 34") == std::string::npos);
    CHECK(text.find(test::kAuthPin) == std::string::npos);

    REQUIRE(sw(*card, kVerifySignSfi) == 0x9000);
    const std::string sign_text = card->log().back().text();
    CHECK(sign_text.find("<redacted>") != std::string::npos);
    CHECK(sign_text.find(test::kSignPin) == std::string::npos);
    CHECK(sign_text.find("53 49 47 4E") == std::string::npos);
}

TEST_CASE("sim: the log of other APDUs is not redacted", "[sim]") {
    auto card = jpki_card();
    card->clear_log();
    REQUIRE(sw(*card, "00 20 00 98") == 0x63C3);
    REQUIRE(sw(*card, select_ef_hex(0x0008)) == 0x9000);
    REQUIRE(sw(*card, "00 B0 00 00 00") == 0x9000);
    REQUIRE(card->log().size() == 3);
    CHECK_FALSE(card->log()[0].redacted);
    CHECK(card->log()[0].text() == "00 20 00 98 Lc=0 -> 63C3 len=0");
    CHECK_FALSE(card->log()[1].redacted);
    CHECK(card->log()[1].text() == "00 A4 02 0C Lc=2 -> 9000 len=0");
    CHECK(card->log()[2].text() == "00 B0 00 00 Lc=0 -> 9000 len=3");
}

TEST_CASE("sim: on_log is called with each log entry", "[sim]") {
    auto card = powered_card();
    std::vector<std::string> seen;
    card->on_log = [&seen](const sim::LoggedApdu& e) { seen.push_back(e.text()); };
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    REQUIRE(sw(*card, kWrongAuthSfi) == 0x63C2);
    REQUIRE(seen.size() == 2);
    CHECK(seen[0] == "00 A4 04 0C Lc=10 -> 9000 len=0");
    CHECK(seen[1] == "00 20 00 98 Lc=4 data=<redacted> -> 63C2 len=0");
}

TEST_CASE("sim: verify_with_data_count counts only VERIFYs that carry a PIN", "[sim]") {
    auto card = jpki_card();
    CHECK(card->verify_with_data_count() == 0);
    REQUIRE(sw(*card, "00 20 00 98") == 0x63C3);
    REQUIRE(sw(*card, "00 20 00 9B") == 0x63C5);
    CHECK(card->verify_with_data_count() == 0);
    REQUIRE(sw(*card, kWrongAuthSfi) == 0x63C2);
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    REQUIRE(sw(*card, kVerifySignSfi) == 0x9000);
    REQUIRE(sw(*card, select_ef_hex(0x000A)) == 0x9000);
    REQUIRE(sw(*card, "00 84 00 00 08") == 0x9000);
    CHECK(card->verify_with_data_count() == 3);
    card->clear_log();
    CHECK(card->log().empty());
    CHECK(card->verify_with_data_count() == 0);
}

TEST_CASE("sim: the retry counters persist in state_file across JpkiCard objects", "[sim]") {
    const RemoveFile state{temp_state_path()};
    CardConfig cfg = test::card_config();
    cfg.state_file = state.path;
    {
        auto card = jpki_card(cfg);
        CHECK(hex_of(*card, kWrongAuthSfi) == "63 C2");
        CHECK(hex_of(*card, kWrongAuthSfi) == "63 C1");
        CHECK(hex_of(*card, kWrongSignSfi) == "63 C4");
    }
    {
        auto card = jpki_card(cfg);
        CHECK(hex_of(*card, "00 20 00 98") == "63 C1");
        CHECK(hex_of(*card, "00 20 00 9B") == "63 C4");
        CHECK(card->tries_left(false) == 1);
        CHECK_FALSE(card->auth_verified());  // the status is not persisted, only the counters
        CHECK(hex_of(*card, kVerifyAuthSfi) == "90 00");
    }
    {
        auto card = jpki_card(cfg);
        CHECK(hex_of(*card, "00 20 00 98") == "63 C3");
        card->set_tries_left(true, 2);
    }
    {
        auto card = jpki_card(cfg);
        CHECK(hex_of(*card, "00 20 00 9B") == "63 C2");
    }
    // Without a state_file every card starts full.
    auto fresh = jpki_card();
    CHECK(hex_of(*fresh, "00 20 00 98") == "63 C3");
}

// ---------------------------------------------------------------------------------------------
// COMPUTE DIGITAL SIGNATURE

TEST_CASE("sim: signing without the PIN answers 6982", "[sim]") {
    auto card = jpki_card();
    const Bytes di = test::sha256_digest_info(msg("hello"));
    CHECK(card->process(sign_apdu(0x00, 0x97, di)) == from_hex("69 82"));
    CHECK(card->process(sign_apdu(0x00, 0x9A, di)) == from_hex("69 82"));
    REQUIRE(select_ef(*card, 0x0017) == 0x9000);
    CHECK(card->process(sign_apdu(0x00, 0x80, di)) == from_hex("69 82"));
}

TEST_CASE("sim: P1=00 P2=97 signs a DigestInfo with the auth key", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const Bytes di = test::sha256_digest_info(msg("hello"));
    const Bytes sig = sign_ok(*card, 0x00, 0x97, di);
    CHECK(test::verify_pkcs1_raw(cert_file(1, "auth_cert.der"), di, sig));
    CHECK_FALSE(test::verify_pkcs1_raw(cert_file(1, "sign_cert.der"), di, sig));
    CHECK_FALSE(test::verify_pkcs1_raw(cert_file(1, "auth_cert.der"), test::sha256_digest_info(msg("hellO")), sig));
}

TEST_CASE("sim: SELECT 0017 + P2=80 gives the same signature as P2=97", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const Bytes di = test::sha256_digest_info(msg("deterministic"));
    const Bytes by_sfi = sign_ok(*card, 0x00, 0x97, di);
    REQUIRE(select_ef(*card, 0x0017) == 0x9000);
    const Bytes by_select = sign_ok(*card, 0x00, 0x80, di);
    CHECK(by_sfi == by_select);
    CHECK(test::verify_pkcs1_raw(cert_file(1, "auth_cert.der"), di, by_select));
}

TEST_CASE("sim: one VERIFY covers several signatures", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    for (int i = 0; i < 3; ++i) {
        const Bytes di = test::sha256_digest_info(msg("message " + std::to_string(i)));
        CHECK(test::verify_pkcs1_raw(cert_file(1, "auth_cert.der"), di, sign_ok(*card, 0x00, 0x97, di)));
    }
    CHECK(card->auth_verified());
}

TEST_CASE("sim: the sign key (P2=9A) needs the sign PIN", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const Bytes di = test::sha256_digest_info(msg("contract"));
    CHECK(card->process(sign_apdu(0x00, 0x9A, di)) == from_hex("69 82"));
    REQUIRE(select_ef(*card, 0x001A) == 0x9000);
    CHECK(card->process(sign_apdu(0x00, 0x80, di)) == from_hex("69 82"));
    REQUIRE(sw(*card, kVerifySignSfi) == 0x9000);
    const Bytes by_sfi = sign_ok(*card, 0x00, 0x9A, di);
    CHECK(test::verify_pkcs1_raw(cert_file(1, "sign_cert.der"), di, by_sfi));
    CHECK_FALSE(test::verify_pkcs1_raw(cert_file(1, "auth_cert.der"), di, by_sfi));
    REQUIRE(select_ef(*card, 0x001A) == 0x9000);
    CHECK(sign_ok(*card, 0x00, 0x80, di) == by_sfi);
}

TEST_CASE("sim: the sign PIN alone does not unlock the auth key", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifySignSfi) == 0x9000);
    CHECK(card->process(sign_apdu(0x00, 0x97, test::sha256_digest_info(msg("a")))) == from_hex("69 82"));
}

TEST_CASE("sim: P1=01 hashes the data and signs the bare SHA-256 hash", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const Bytes data = msg("the card hashes this");
    const Bytes sig = sign_ok(*card, 0x01, 0x97, data);
    CHECK(test::verify_pkcs1_raw(cert_file(1, "auth_cert.der"), test::sha256(data), sig));
    CHECK_FALSE(test::verify_pkcs1_raw(cert_file(1, "auth_cert.der"), test::sha256_digest_info(data), sig));
}

TEST_CASE("sim: P1=02 wraps a 32-byte hash in a DigestInfo", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const Bytes data = msg("hashed on the host");
    const Bytes sig = sign_ok(*card, 0x02, 0x97, test::sha256(data));
    CHECK(test::verify_pkcs1_raw(cert_file(1, "auth_cert.der"), test::sha256_digest_info(data), sig));
    // Same as P1=00 over the DigestInfo.
    CHECK(sign_ok(*card, 0x00, 0x97, test::sha256_digest_info(data)) == sig);
}

TEST_CASE("sim: P1=03 hashes the data and wraps the hash in a DigestInfo", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const Bytes data = msg("hashed on the card");
    const Bytes sig = sign_ok(*card, 0x03, 0x97, data);
    CHECK(test::verify_pkcs1_raw(cert_file(1, "auth_cert.der"), test::sha256_digest_info(data), sig));
    CHECK(sign_ok(*card, 0x00, 0x97, test::sha256_digest_info(data)) == sig);
    // Up to 255 bytes of data.
    const Bytes big(255, 0x5A);
    CHECK(test::verify_pkcs1_raw(cert_file(1, "auth_cert.der"), test::sha256_digest_info(big),
                                 sign_ok(*card, 0x03, 0x97, big)));
}

TEST_CASE("sim: P1=04 signs a 32-byte hash with RSASSA-PSS, salt 32, randomised", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const Bytes hash = test::sha256(msg("TLS 1.3 CertificateVerify"));
    const Bytes a = sign_ok(*card, 0x04, 0x97, hash);
    const Bytes b = sign_ok(*card, 0x04, 0x97, hash);
    CHECK(test::verify_pss_sha256(cert_file(1, "auth_cert.der"), hash, a, 32));
    CHECK(test::verify_pss_sha256(cert_file(1, "auth_cert.der"), hash, b, 32));
    CHECK(a != b);
    CHECK_FALSE(test::verify_pss_sha256(cert_file(1, "auth_cert.der"), test::sha256(msg("other")), a, 32));
}

TEST_CASE("sim: P1=05 hashes the data and signs with RSASSA-PSS, salt 32, randomised", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const Bytes data = msg("PSS over data");
    const Bytes a = sign_ok(*card, 0x05, 0x97, data);
    const Bytes b = sign_ok(*card, 0x05, 0x97, data);
    CHECK(test::verify_pss_sha256(cert_file(1, "auth_cert.der"), test::sha256(data), a, 32));
    CHECK(test::verify_pss_sha256(cert_file(1, "auth_cert.der"), test::sha256(data), b, 32));
    CHECK(a != b);
}

TEST_CASE("sim: PSS with the sign key verifies against the sign cert", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifySignSfi) == 0x9000);
    const Bytes hash = test::sha256(msg("document"));
    const Bytes sig = sign_ok(*card, 0x04, 0x9A, hash);
    CHECK(test::verify_pss_sha256(cert_file(1, "sign_cert.der"), hash, sig, 32));
    CHECK_FALSE(test::verify_pss_sha256(cert_file(1, "auth_cert.der"), hash, sig, 32));
}

TEST_CASE("sim: with pss_salt_length=20 the PSS salt is 20 bytes", "[sim]") {
    CHECK(CardConfig{}.pss_salt_length == 32);
    CardConfig cfg = test::card_config();
    cfg.pss_salt_length = 20;
    auto card = jpki_card(cfg);
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const Bytes hash = test::sha256(msg("salted"));
    const Bytes sig = sign_ok(*card, 0x04, 0x97, hash);
    CHECK(test::verify_pss_sha256(cert_file(1, "auth_cert.der"), hash, sig, 20));
    CHECK_FALSE(test::verify_pss_sha256(cert_file(1, "auth_cert.der"), hash, sig, 32));
    const Bytes data = msg("salted data");
    const Bytes sig5 = sign_ok(*card, 0x05, 0x97, data);
    CHECK(test::verify_pss_sha256(cert_file(1, "auth_cert.der"), test::sha256(data), sig5, 20));
    CHECK_FALSE(test::verify_pss_sha256(cert_file(1, "auth_cert.der"), test::sha256(data), sig5, 32));
}

TEST_CASE("sim: with pss=false P1=04/05 answer 6A86", "[sim]") {
    CHECK(CardConfig{}.pss);
    CardConfig cfg = test::card_config();
    cfg.pss = false;
    auto card = jpki_card(cfg);
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const Bytes hash = test::sha256(msg("x"));
    CHECK(card->process(sign_apdu(0x04, 0x97, hash)) == from_hex("6A 86"));
    CHECK(card->process(sign_apdu(0x05, 0x97, msg("x"))) == from_hex("6A 86"));
    // The PKCS#1 variants still work.
    sign_ok(*card, 0x02, 0x97, hash);
    sign_ok(*card, 0x03, 0x97, msg("x"));
}

TEST_CASE("sim: sign P1 above 05 answers 6A86", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const Bytes hash = test::sha256(msg("x"));
    CHECK(card->process(sign_apdu(0x06, 0x97, hash)) == from_hex("6A 86"));
    CHECK(card->process(sign_apdu(0x80, 0x97, hash)) == from_hex("6A 86"));
    CHECK(card->process(sign_apdu(0xFF, 0x97, hash)) == from_hex("6A 86"));
}

TEST_CASE("sim: P1=00 takes at most 245 bytes (k-11)", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const Bytes ok(245, 0x42);
    CHECK(test::verify_pkcs1_raw(cert_file(1, "auth_cert.der"), ok, sign_ok(*card, 0x00, 0x97, ok)));
    CHECK(card->process(sign_apdu(0x00, 0x97, Bytes(246, 0x42))) == from_hex("67 00"));
    CHECK(card->process(sign_apdu(0x00, 0x97, Bytes(255, 0x42))) == from_hex("67 00"));
    const Bytes one = {0x01};
    CHECK(test::verify_pkcs1_raw(cert_file(1, "auth_cert.der"), one, sign_ok(*card, 0x00, 0x97, one)));
}

TEST_CASE("sim: P1=02/04 need exactly 32 bytes, else 6700", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    for (std::uint8_t p1 : std::initializer_list<std::uint8_t>{0x02, 0x04}) {
        INFO("P1 " << int(p1));
        CHECK(card->process(sign_apdu(p1, 0x97, Bytes(31, 0x11))) == from_hex("67 00"));
        CHECK(card->process(sign_apdu(p1, 0x97, Bytes(33, 0x11))) == from_hex("67 00"));
        CHECK(card->process(sign_apdu(p1, 0x97, Bytes(1, 0x11))) == from_hex("67 00"));
        sign_ok(*card, p1, 0x97, Bytes(32, 0x11));
    }
}

TEST_CASE("sim: sign without data answers 6700", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    for (const char* c : {"80 2A 00 97 00", "80 2A 01 97 00", "80 2A 03 97 00", "80 2A 05 97 00", "80 2A 00 97"}) {
        INFO(c);
        CHECK(hex_of(*card, c) == "67 00");
    }
}

TEST_CASE("sim: sign P2 other than 80/97/9A answers 6A86", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const Bytes di = test::sha256_digest_info(msg("x"));
    for (std::uint8_t p2 : std::initializer_list<std::uint8_t>{0x00, 0x81, 0x96, 0x98, 0x9B, 0x17, 0x1A, 0xFF}) {
        INFO("P2 " << int(p2));
        CHECK(card->process(sign_apdu(0x00, p2, di)) == from_hex("6A 86"));
    }
}

TEST_CASE("sim: sign P2=80 with a current EF that is not a key answers 6A88", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const Bytes di = test::sha256_digest_info(msg("x"));
    CHECK(card->process(sign_apdu(0x00, 0x80, di)) == from_hex("6A 88"));  // no current EF
    for (unsigned fid : {0x0018, 0x000A, 0x0001}) {
        INFO("EF " << fid);
        REQUIRE(select_ef(*card, fid) == 0x9000);
        CHECK(card->process(sign_apdu(0x00, 0x80, di)) == from_hex("6A 88"));
    }
}

TEST_CASE("sim: sign before the JPKI AP is selected answers 6A88", "[sim]") {
    auto card = powered_card();
    CHECK(card->process(sign_apdu(0x00, 0x97, test::sha256_digest_info(msg("x")))) == from_hex("6A 88"));
}

TEST_CASE("sim: with sfi_sign=false sign P2=97/9A answer 6A86 but SELECT + P2=80 works", "[sim]") {
    CHECK(CardConfig{}.sfi_sign);
    CardConfig cfg = test::card_config();
    cfg.sfi_sign = false;
    auto card = jpki_card(cfg);
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    REQUIRE(sw(*card, kVerifySignSfi) == 0x9000);
    const Bytes di = test::sha256_digest_info(msg("x"));
    CHECK(card->process(sign_apdu(0x00, 0x97, di)) == from_hex("6A 86"));
    CHECK(card->process(sign_apdu(0x00, 0x9A, di)) == from_hex("6A 86"));
    REQUIRE(select_ef(*card, 0x0017) == 0x9000);
    CHECK(test::verify_pkcs1_raw(cert_file(1, "auth_cert.der"), di, sign_ok(*card, 0x00, 0x80, di)));
}

TEST_CASE("sim: the sign command with CLA 00 answers 6E00", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    CHECK(card->process(apdu(0x00, 0x2A, 0x00, 0x97, test::sha256_digest_info(msg("x")), 256)) == from_hex("6E 00"));
    CHECK(card->process(apdu(0x00, 0x2A, 0x9E, 0x9A, test::sha256_digest_info(msg("x")), 256)) == from_hex("6E 00"));
}

TEST_CASE("sim: after reset() a signature needs VERIFY again", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const Bytes di = test::sha256_digest_info(msg("x"));
    sign_ok(*card, 0x00, 0x97, di);
    card->reset();
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    CHECK(card->process(sign_apdu(0x00, 0x97, di)) == from_hex("69 82"));
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    sign_ok(*card, 0x00, 0x97, di);
}

TEST_CASE("sim: sign_latency_ms delays a signature", "[sim]") {
    CardConfig cfg = test::card_config();
    cfg.sign_latency_ms = 40;
    auto card = jpki_card(cfg);
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const auto start = std::chrono::steady_clock::now();
    sign_ok(*card, 0x00, 0x97, test::sha256_digest_info(msg("x")));
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(40));
}

// ---------------------------------------------------------------------------------------------
// CLA / INS errors

TEST_CASE("sim: an unknown INS answers 6D00", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, "00 FF 00 00") == "6D 00");
    CHECK(hex_of(*card, "00 50 00 00 00") == "6D 00");
    CHECK(hex_of(*card, "80 B0 00 00 00") == "6D 00");  // CLA 80 only knows the sign command
    CHECK(hex_of(*card, "80 FF 00 00") == "6D 00");
}

TEST_CASE("sim: an unknown CLA answers 6E00", "[sim]") {
    auto card = powered_card();
    CHECK(hex_of(*card, std::string("A0 A4 04 0C 0A ") + kJpkiAid) == "6E 00");
    CHECK(hex_of(*card, "A0 B0 00 00 00") == "6E 00");
    CHECK(hex_of(*card, "B0 20 00 98") == "6E 00");
    CHECK(hex_of(*card, "90 2A 00 97 01 00 00") == "6E 00");
    // Nothing was selected by the refused SELECT.
    CHECK(select_ef(*card, 0x000A) == 0x6A82);
}

TEST_CASE("sim: CLA 08 (secure messaging) answers 69FC", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, "08 B0 00 00 00") == "69 FC");
    CHECK(hex_of(*card, std::string("08 A4 04 0C 0A ") + kJpkiAid) == "69 FC");
    CHECK(hex_of(*card, "0C B0 00 00 00") == "69 FC");
    CHECK(hex_of(*card, "04 B0 00 00 00") == "69 FC");  // any SM indication in CLA bits 3-4
    CHECK(hex_of(*card, "8C 2A 00 97 01 00 00") == "69 FC");
    CHECK(hex_of(*card, "08 20 00 98 04 31 32 33 34") == "69 FC");
    CHECK(card->tries_left(false) == 3);
    CHECK_FALSE(card->auth_verified());
}

TEST_CASE("sim: APDUs shorter than 4 bytes answer 6700", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, "00 A4 04") == "67 00");
    CHECK(hex_of(*card, "00 B0") == "67 00");
    CHECK(hex_of(*card, "00") == "67 00");
    CHECK(to_hex(card->process(Bytes{})) == "67 00");
    // The card still works afterwards.
    CHECK(hex_of(*card, kSelectJpki) == "90 00");
}

TEST_CASE("sim: malformed lengths answer 6700 for any command", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, "00 20 00 98 05 31 32 33 34") == "67 00");   // Lc=5, 4 bytes
    CHECK(hex_of(*card, "00 20 00 98 02 31 32 33 34") == "67 00");   // Lc=2, 4 bytes
    CHECK(hex_of(*card, "80 2A 00 97 10 01 02 03") == "67 00");
    CHECK(card->tries_left(false) == 3);
}

// ---------------------------------------------------------------------------------------------
// T=0 style GET RESPONSE

TEST_CASE("sim: with t0_get_response READ BINARY answers 61xx and GET RESPONSE returns the data", "[sim]") {
    CHECK_FALSE(CardConfig{}.t0_get_response);
    CardConfig cfg = test::card_config();
    cfg.t0_get_response = true;
    auto card = jpki_card(cfg);  // a SELECT without data still answers 9000
    const Bytes der = cert_file(1, "auth_cert.der");
    REQUIRE(select_ef(*card, 0x000A) == 0x9000);
    CHECK(hex_of(*card, "00 B0 00 00 00") == "61 00");
    CHECK(hex_of(*card, "00 C0 00 00 00") == to_hex(Bytes(der.begin(), der.begin() + 256)) + " 90 00");
    CHECK(hex_of(*card, "00 C0 00 00 00") == "69 85");  // nothing left

    REQUIRE(select_ef(*card, 0x0008) == 0x9000);
    CHECK(hex_of(*card, "00 B0 00 00 00") == "61 03");
    CHECK(hex_of(*card, "00 C0 00 00 03") == "8F 8F 00 90 00");
}

TEST_CASE("sim: with t0_get_response GET RESPONSE can fetch the data in parts", "[sim]") {
    CardConfig cfg = test::card_config();
    cfg.t0_get_response = true;
    auto card = jpki_card(cfg);
    REQUIRE(select_ef(*card, 0x0006) == 0x9000);
    CHECK(hex_of(*card, "00 B0 00 00 00") == "61 A0");
    const Bytes part1 = send(*card, "00 C0 00 00 10");
    CHECK(part1.size() == 18);
    CHECK(sw_of(part1) == 0x6190);
    CHECK(std::string(part1.begin(), part1.end() - 2) == "JPKIAPICCTOKEN2 ");
    const Bytes part2 = send(*card, "00 C0 00 00 00");
    CHECK(part2.size() == 146);
    CHECK(sw_of(part2) == 0x9000);
}

TEST_CASE("sim: with t0_get_response the FCI and a signature also come through GET RESPONSE", "[sim]") {
    CardConfig cfg = test::card_config();
    cfg.t0_get_response = true;
    auto card = powered_card(cfg);
    CHECK(hex_of(*card, std::string("00 A4 04 00 0A ") + kJpkiAid + " 00") == "61 0E");
    CHECK(hex_of(*card, "00 C0 00 00 0E") == std::string("6F 0C 84 0A ") + kJpkiAid + " 90 00");
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const Bytes di = test::sha256_digest_info(msg("t0"));
    CHECK(card->process(sign_apdu(0x00, 0x97, di)) == from_hex("61 00"));
    const Bytes r = send(*card, "00 C0 00 00 00");
    REQUIRE(sw_of(r) == 0x9000);
    CHECK(test::verify_pkcs1_raw(cert_file(1, "auth_cert.der"), di, data_of(r)));
}

TEST_CASE("sim: with t0_get_response another command drops the pending data", "[sim]") {
    CardConfig cfg = test::card_config();
    cfg.t0_get_response = true;
    auto card = jpki_card(cfg);
    REQUIRE(select_ef(*card, 0x0008) == 0x9000);
    REQUIRE(sw(*card, "00 B0 00 00 00") == 0x6103);
    REQUIRE(sw(*card, "00 20 00 98") == 0x63C3);
    CHECK(hex_of(*card, "00 C0 00 00 03") == "69 85");
}

TEST_CASE("sim: GET RESPONSE with nothing pending answers 6985", "[sim]") {
    auto card = jpki_card();
    CHECK(hex_of(*card, "00 C0 00 00 00") == "69 85");
    // In the default (T=1) mode data comes directly, so nothing is ever pending.
    REQUIRE(select_ef(*card, 0x0008) == 0x9000);
    CHECK(hex_of(*card, "00 B0 00 00 00") == "8F 8F 00 90 00");
    CHECK(hex_of(*card, "00 C0 00 00 00") == "69 85");

    CardConfig cfg = test::card_config();
    cfg.t0_get_response = true;
    auto t0 = jpki_card(cfg);
    CHECK(hex_of(*t0, "00 C0 00 00 00") == "69 85");
}

TEST_CASE("sim: GET RESPONSE with a wrong P1/P2 answers 6A86, without Le 6700", "[sim]") {
    CardConfig cfg = test::card_config();
    cfg.t0_get_response = true;
    auto card = jpki_card(cfg);
    REQUIRE(select_ef(*card, 0x0008) == 0x9000);
    REQUIRE(sw(*card, "00 B0 00 00 00") == 0x6103);
    CHECK(hex_of(*card, "00 C0 01 00 03") == "6A 86");
    CHECK(hex_of(*card, "00 C0 00 00") == "67 00");
    // Neither cleared the pending data.
    CHECK(hex_of(*card, "00 C0 00 00 03") == "8F 8F 00 90 00");
}

// ---------------------------------------------------------------------------------------------
// Faults

TEST_CASE("sim: a Garbage fault answers random bytes that are not a status word, instead of the command", "[sim]") {
    auto card = jpki_card();
    card->inject_fault(Fault::Garbage);
    const Bytes a = send(*card, kWrongAuthSfi);
    CHECK(a.size() == 7);
    CHECK(a[0] == 0x55);
    CHECK(card->tries_left(false) == 3);  // the command never ran
    CHECK(hex_of(*card, "00 20 00 98") == "63 C3");  // once only
    card->inject_fault(Fault::Garbage);
    const Bytes b = send(*card, kWrongAuthSfi);
    CHECK(b.size() == 7);
    CHECK(a != b);
}

TEST_CASE("sim: a Truncated fault answers one byte", "[sim]") {
    auto card = jpki_card();
    card->inject_fault(Fault::Truncated);
    CHECK(to_hex(send(*card, kVerifyAuthSfi)) == "90");
    CHECK_FALSE(card->auth_verified());
    CHECK(hex_of(*card, "00 20 00 98") == "63 C3");
}

TEST_CASE("sim: a Mute fault answers nothing", "[sim]") {
    auto card = jpki_card();
    card->inject_fault(Fault::Mute);
    CHECK(send(*card, kVerifyAuthSfi).empty());
    CHECK_FALSE(card->auth_verified());
    CHECK(card->powered());
    CHECK(hex_of(*card, kVerifyAuthSfi) == "90 00");
}

TEST_CASE("sim: a Removed fault answers nothing until the card is inserted and powered", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const unsigned resets = card->resets();
    CHECK_FALSE(card->removed());
    card->inject_fault(Fault::Removed);
    CHECK(send(*card, "00 20 00 98").empty());
    CHECK(card->removed());
    CHECK_FALSE(card->powered());
    CHECK(card->resets() == resets + 1);
    CHECK_FALSE(card->auth_verified());
    for (int i = 0; i < 3; ++i) CHECK(send(*card, kSelectJpki).empty());
    card->power_on();  // powering a removed card does not bring it back
    CHECK(send(*card, kSelectJpki).empty());
    card->insert();
    CHECK_FALSE(card->removed());
    CHECK_FALSE(card->powered());
    CHECK(send(*card, kSelectJpki).empty());
    card->power_on();
    CHECK(hex_of(*card, "00 A4 00 00") == "6A 86");  // a fresh power-on state
    CHECK(hex_of(*card, kSelectJpki) == "90 00");
    CHECK(card->process(sign_apdu(0x00, 0x97, test::sha256_digest_info(msg("x")))) == from_hex("69 82"));
}

TEST_CASE("sim: a ResetBefore fault clears the security status before the command runs", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const unsigned resets = card->resets();
    card->inject_fault(Fault::ResetBefore);
    // The reset also dropped the AP selection, so a sign right after VERIFY fails.
    CHECK(card->process(sign_apdu(0x00, 0x97, test::sha256_digest_info(msg("x")))) == from_hex("6A 88"));
    CHECK(card->resets() == resets + 1);
    CHECK(card->powered());
    CHECK_FALSE(card->auth_verified());
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    CHECK(card->process(sign_apdu(0x00, 0x97, test::sha256_digest_info(msg("x")))) == from_hex("69 82"));
}

TEST_CASE("sim: a ResetBefore fault still runs the command after the reset", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    card->inject_fault(Fault::ResetBefore);
    CHECK(hex_of(*card, kSelectJpki) == "90 00");
    CHECK_FALSE(card->auth_verified());
    CHECK(card->process(sign_apdu(0x00, 0x97, test::sha256_digest_info(msg("x")))) == from_hex("69 82"));
}

TEST_CASE("sim: inject_fault's nth counts APDUs from now", "[sim]") {
    auto card = powered_card();
    card->inject_fault(Fault::Mute, 3);
    CHECK(hex_of(*card, kSelectJpki) == "90 00");
    CHECK(hex_of(*card, "00 20 00 98") == "63 C3");
    CHECK(send(*card, kVerifyAuthSfi).empty());
    CHECK(hex_of(*card, "00 20 00 98") == "63 C3");
    CHECK_FALSE(card->auth_verified());
    CHECK(hex_of(*card, kVerifyAuthSfi) == "90 00");
}

TEST_CASE("sim: a new inject_fault replaces the pending one", "[sim]") {
    auto card = jpki_card();
    card->inject_fault(Fault::Mute, 2);
    card->inject_fault(Fault::Truncated, 1);
    CHECK(send(*card, "00 20 00 98").size() == 1);
    CHECK(hex_of(*card, "00 20 00 98") == "63 C3");
    CHECK(hex_of(*card, "00 20 00 98") == "63 C3");
}

// ---------------------------------------------------------------------------------------------
// Latency

TEST_CASE("sim: apdu_latency_ms delays every APDU", "[sim]") {
    CHECK(CardConfig{}.apdu_latency_ms == 0);
    CardConfig cfg = test::card_config();
    cfg.apdu_latency_ms = 30;
    auto card = powered_card(cfg);
    const auto start = std::chrono::steady_clock::now();
    CHECK(hex_of(*card, kSelectJpki) == "90 00");
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(30));
}

// ---------------------------------------------------------------------------------------------
// Two cards

TEST_CASE("sim: two cards have different certificates and serials", "[sim]") {
    auto one = jpki_card(test::card_config(1));
    auto two = jpki_card(test::card_config(2));
    const Bytes cert1 = read_ef(*one, 0x000A);
    const Bytes cert2 = read_ef(*two, 0x000A);
    check_cert_ef(cert1, cert_file(1, "auth_cert.der"));
    check_cert_ef(cert2, cert_file(2, "auth_cert.der"));
    CHECK(cert1 != cert2);
    const Bytes info1 = read_ef(*one, 0x0006);
    const Bytes info2 = read_ef(*two, 0x0006);
    REQUIRE(info1.size() == 160);
    REQUIRE(info2.size() == 160);
    CHECK(std::string(info1.begin() + 80, info1.begin() + 96) == "JPKISIMCARD00001");
    CHECK(std::string(info2.begin() + 80, info2.begin() + 96) == "JPKISIMCARD00002");
}

TEST_CASE("sim: a VERIFY on one card does not unlock or count down the other", "[sim]") {
    auto one = jpki_card(test::card_config(1));
    auto two = jpki_card(test::card_config(2));
    REQUIRE(sw(*one, kVerifyAuthSfi) == 0x9000);
    REQUIRE(sw(*one, kVerifySignSfi) == 0x9000);
    CHECK_FALSE(two->auth_verified());
    CHECK_FALSE(two->sign_verified());
    const Bytes di = test::sha256_digest_info(msg("which card"));
    CHECK(two->process(sign_apdu(0x00, 0x97, di)) == from_hex("69 82"));
    CHECK(two->process(sign_apdu(0x00, 0x9A, di)) == from_hex("69 82"));
    REQUIRE(sw(*two, kWrongAuthSfi) == 0x63C2);
    CHECK(hex_of(*one, "00 20 00 98") == "63 C3");
    // Each card signs with its own key.
    const Bytes sig1 = sign_ok(*one, 0x00, 0x97, di);
    CHECK(test::verify_pkcs1_raw(cert_file(1, "auth_cert.der"), di, sig1));
    CHECK_FALSE(test::verify_pkcs1_raw(cert_file(2, "auth_cert.der"), di, sig1));
    REQUIRE(sw(*two, kVerifyAuthSfi) == 0x9000);
    const Bytes sig2 = sign_ok(*two, 0x00, 0x97, di);
    CHECK(test::verify_pkcs1_raw(cert_file(2, "auth_cert.der"), di, sig2));
    CHECK(sig1 != sig2);
}

TEST_CASE("sim: the constructor throws on an unreadable PKI directory", "[sim]") {
    CardConfig cfg = test::card_config();
    cfg.pki_dir = "/nonexistent/jpki-sim-pki";
    CHECK_THROWS_AS(JpkiCard(cfg), std::runtime_error);
}

TEST_CASE("sim: selecting the ISD restores the power-on selection state", "[sim][select]") {
    JpkiCard card(test::card_config());
    card.power_on();
    REQUIRE(sw_of(send(card, kSelectJpki)) == 0x9000);
    REQUIRE(sw_of(send(card, "00 A4 00 00")) == 0x9000);  // MF select after another select
    CHECK(sw_of(send(card, "00 A4 04 0C 07 A0 00 00 01 51 00 00")) == 0x9000);
    CHECK(sw_of(send(card, "00 A4 00 00")) == 0x6A86);    // as after power-on
    CHECK(sw_of(send(card, "00 A4 02 0C 02 00 0A")) == 0x6A82);  // no DF selected any more
}

TEST_CASE("sim: CHANGE REFERENCE DATA needs the PIN IEF selected and its PIN verified", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, "00 A4 02 0C 02 00 18") == 0x9000);         // the auth PIN's IEF
    CHECK(sw(*card, "00 24 01 80 04 35 36 37 38") == 0x6982);     // no VERIFY yet: refused
    REQUIRE(sw(*card, "00 20 00 80 04 31 32 33 34") == 0x9000);
    CHECK(sw(*card, "00 24 01 80 03 35 36 37") == 0x6A80);        // not 4 digits
    CHECK(sw(*card, "00 24 00 80 04 35 36 37 38") == 0x6A86);     // P1 must be 01
    CHECK(sw(*card, "00 24 01 80 04 35 36 37 38") == 0x9000);     // 5678
    card->reset();
    REQUIRE(sw(*card, kSelectJpki) == 0x9000);
    CHECK(sw(*card, kVerifyAuthSfi) == 0x63C2);                   // the old PIN: wrong now
    CHECK(sw(*card, "00 20 00 98 04 35 36 37 38") == 0x9000);     // the new one verifies
    CHECK(card->config().auth_pin == "5678");
}

TEST_CASE("sim: become() is another card in the same reader, seen as a reset", "[sim]") {
    auto card = jpki_card();
    REQUIRE(sw(*card, kVerifyAuthSfi) == 0x9000);
    const unsigned resets = card->resets();
    card->become(test::card_config(2));
    CHECK(card->resets() == resets + 1);
    CHECK_FALSE(card->auth_verified());
    CHECK(card->config().serial == test::card_config(2).serial);
}
